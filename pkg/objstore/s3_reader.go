package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Reader is the body of an S3 object that resumes after a broken
// connection: the SDK retries requests, but not a body that fails half-way,
// so on a read error it asks again for the rest of the object (Range
// bytes=N-, If-Match the first ETag) up to MaxAttempts times in a row
// without progress, with backoff.
//
// It keeps the ctx of Get, as an http.Response body does: the object is read
// under the caller's request.
type s3Reader struct {
	ctx   context.Context
	b     *s3Bucket
	key   string
	etag  string
	body  io.ReadCloser // nil after a failure, until the next resume
	off   int64         // bytes delivered so far
	size  int64         // -1 if unknown
	fails int           // consecutive failures without progress
	err   error         // sticky final error
}

// resume backoff: base * 2^fails with full jitter, capped.
const (
	resumeBaseDelay = 50 * time.Millisecond
	resumeMaxDelay  = 5 * time.Second
)

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if r.size >= 0 && r.off >= r.size {
			return 0, io.EOF
		}
		if r.body == nil {
			if err := r.reopen(); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if n > 0 {
			r.fails = 0
		}
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, io.EOF) && (r.size < 0 || r.off >= r.size):
			return n, io.EOF
		case errors.Is(err, io.EOF):
			err = io.ErrUnexpectedEOF // the body ended before Content-Length
		}
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			r.err = fmt.Errorf("reading %s: %w", r.b.URL(r.key), ctxErr)
			return n, r.err
		}
		r.body.Close()
		r.body = nil
		r.fails++
		if r.fails >= r.b.opts.MaxAttempts {
			r.err = fmt.Errorf("reading %s at byte %d after %d attempts: %w", r.b.URL(r.key), r.off, r.fails, err)
			return n, r.err
		}
		r.b.log.Warn("resuming S3 read", "url", r.b.URL(r.key), "offset", r.off, "attempt", r.fails+1, "err", err)
		if n > 0 {
			return n, nil
		}
	}
}

// reopen asks for the rest of the object, with backoff between tries.
func (r *s3Reader) reopen() error {
	for {
		d := resumeBaseDelay << min(max(r.fails-1, 0), 10)
		d = min(d, resumeMaxDelay)
		t := time.NewTimer(rand.N(d) + 1)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return fmt.Errorf("reading %s: %w", r.b.URL(r.key), r.ctx.Err())
		case <-t.C:
		}
		in := &s3.GetObjectInput{
			Bucket: aws.String(r.b.bucket),
			Key:    aws.String(r.b.fullKey(r.key)),
			Range:  aws.String(fmt.Sprintf("bytes=%d-", r.off)),
		}
		if r.etag != "" {
			in.IfMatch = aws.String(r.etag)
		}
		out, err := r.b.client.GetObject(r.ctx, in)
		if err == nil {
			if out.ETag != nil && r.etag != "" && *out.ETag != r.etag {
				out.Body.Close()
				return fmt.Errorf("reading %s: object changed while being read (ETag %s, was %s)", r.b.URL(r.key), *out.ETag, r.etag)
			}
			r.body = out.Body
			return nil
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			switch re.HTTPStatusCode() {
			case http.StatusPreconditionFailed:
				return fmt.Errorf("reading %s: object changed while being read: %w", r.b.URL(r.key), err)
			case http.StatusRequestedRangeNotSatisfiable:
				if r.size < 0 { // unknown size, and we were at its end
					r.size = r.off
					r.body = io.NopCloser(eofReader{})
					return nil
				}
			}
		}
		if isNotFound(err) {
			return fmt.Errorf("reading %s: object deleted while being read: %w", r.b.URL(r.key), ErrNotFound)
		}
		r.fails++
		if r.fails >= r.b.opts.MaxAttempts || r.ctx.Err() != nil {
			return fmt.Errorf("reading %s at byte %d: %w", r.b.URL(r.key), r.off, err)
		}
		r.b.log.Warn("resuming S3 read", "url", r.b.URL(r.key), "offset", r.off, "attempt", r.fails+1, "err", err)
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Close releases the body.
func (r *s3Reader) Close() error {
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
