#!/usr/bin/env bash
# Amazon MWAA startup script: put this file in the environment's S3 bucket and
# name it as the environment's startup script. It runs on every scheduler,
# worker and web server before Airflow starts. It fetches the static batchjob
# binary (bin/batchjob of `make build`, or copied out of the image) from
# PINPIPE_BATCHJOB_S3 and points the DAG at it (PINPIPE_BATCH_BIN; MWAA keeps
# the variables this script exports).
#
#   PINPIPE_BATCHJOB_S3   s3://bucket/path/batchjob (set it in this script or the environment)
#   PINPIPE_BIN_DIR       where it goes (default /usr/local/airflow/bin)
set -euo pipefail
: "${PINPIPE_BATCHJOB_S3:?set PINPIPE_BATCHJOB_S3 to the s3:// URL of the batchjob binary}"
bin_dir="${PINPIPE_BIN_DIR:-/usr/local/airflow/bin}"
mkdir -p "$bin_dir"
tmp="$bin_dir/.batchjob.$$"
aws s3 cp --only-show-errors "$PINPIPE_BATCHJOB_S3" "$tmp"
chmod 0755 "$tmp"
# A binary that does not start here (wrong architecture, truncated) fails the
# startup, not the first DAG run.
if ! "$tmp" -h >/dev/null 2>&1; then
  echo "startup: $PINPIPE_BATCHJOB_S3 does not run here (batchjob -h failed)" >&2
  rm -f "$tmp"
  exit 1
fi
mv -f "$tmp" "$bin_dir/batchjob"
export PINPIPE_BATCH_BIN="$bin_dir/batchjob"
export PINPIPE_BATCH_RUNNER=bash
