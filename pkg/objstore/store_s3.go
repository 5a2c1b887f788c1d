package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// s3Bucket stores objects under prefix in an S3 bucket.
type s3Bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	http    aws.HTTPClient // the client's, for presigned requests
	bucket  string
	prefix  string // no leading or trailing "/"; "" for the whole bucket
	opts    Options
	log     *slog.Logger
	// maxKeys is the List page size; 0 leaves it to the server (1000).
	maxKeys int32
}

var (
	_ Bucket      = (*s3Bucket)(nil)
	_ AfterLister = (*s3Bucket)(nil)
	_ Copier      = (*s3Bucket)(nil)
	_ Checker     = (*s3Bucket)(nil)
)

// defaultRegion is used when the AWS configuration names none: S3-compatible
// servers still need one for signing.
const defaultRegion = "us-east-1"

func newS3Bucket(ctx context.Context, bucket, prefix string, opts Options) (*s3Bucket, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("objstore: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	cfg.HTTPClient = pooledHTTPClient(cfg.HTTPClient)
	// Checksums stay at the SDK defaults: uploads carry a CRC and downloads
	// are checked against the stored one where the object has it, an
	// end-to-end integrity check worth its cost (on versitygw, about 7% of
	// the throughput of a batch job reading one-record objects; on AWS a
	// CRC of the body on the client). versitygw accepts them; for a server
	// that rejects them, set AWS_REQUEST_CHECKSUM_CALCULATION=when_required
	// and AWS_RESPONSE_CHECKSUM_VALIDATION=when_required.
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if opts.PathStyle != nil {
			o.UsePathStyle = *opts.PathStyle
		} else if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		o.Logger = sdkLogger{opts.Logger}
		o.DisableLogOutputChecksumValidationSkipped = true
		o.RetryMaxAttempts = 0 // ours rules, not AWS_MAX_ATTEMPTS
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = opts.MaxAttempts
			// Every request has its own MaxAttempts; a client-wide retry
			// quota would fail a long batch job on a flaky endpoint.
			so.RateLimiter = ratelimit.None
			so.Retryables = append(so.Retryables, retryBrokenBody{})
		})
	})
	return &s3Bucket{client: client, presign: s3.NewPresignClient(client), http: cfg.HTTPClient,
		bucket: bucket, prefix: prefix, opts: opts, log: opts.Logger}, nil
}

// idleConnsPerHost is the number of idle connections to the endpoint kept
// for reuse. The SDK's default transport keeps 10 (net/http's default is 2):
// with more concurrent requests than that, each request beyond the tenth
// closes its connection when done and the next one dials a new one (a TCP and
// TLS handshake, and a TIME_WAIT socket, per object). Idle connections are
// closed after the transport's IdleConnTimeout (90 s).
const idleConnsPerHost = 256

// pooledHTTPClient returns the SDK's buildable HTTP client c (nil: the
// default one), with the idle connection pool raised to idleConnsPerHost and
// every other setting kept (a custom CA bundle from AWS_CA_BUNDLE, timeouts).
// A client of another type, given by the application, is returned as it is.
func pooledHTTPClient(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	bc, ok := c.(*awshttp.BuildableClient)
	if !ok {
		return c
	}
	return bc.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, idleConnsPerHost)
		if t.MaxIdleConns != 0 { // 0 is no limit
			t.MaxIdleConns = max(t.MaxIdleConns, idleConnsPerHost)
		}
	})
}

// sdkLogger passes the SDK's few messages (e.g. a response body it could not
// drain) to our logger at debug level.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(_ logging.Classification, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "component", "aws-sdk")
}

// retryBrokenBody retries requests whose response body ended early (a
// connection dropped while a List or error response was read).
type retryBrokenBody struct{}

func (retryBrokenBody) IsErrorRetryable(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

func (b *s3Bucket) fullKey(key string) string {
	if b.prefix == "" {
		return key
	}
	return b.prefix + "/" + key
}

// URL returns "s3://bucket/prefix/key".
func (b *s3Bucket) URL(key string) string {
	k := b.fullKey(key)
	if key == "" {
		k = b.prefix
	}
	if k == "" {
		return "s3://" + b.bucket
	}
	return "s3://" + b.bucket + "/" + k
}

func checkS3Key(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	return nil
}

// List pages through ListObjectsV2.
func (b *s3Bucket) List(ctx context.Context, prefix string) ([]Object, error) {
	var objs []Object
	err := b.ListPages(ctx, prefix, func(page []Object) error {
		objs = append(objs, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// ListPages implements PageLister.
func (b *s3Bucket) ListPages(ctx context.Context, prefix string, fn func([]Object) error) error {
	return b.listPages(ctx, prefix, "", fn)
}

func (b *s3Bucket) listPages(ctx context.Context, prefix, startAfter string, fn func([]Object) error) error {
	full := b.fullKey(prefix)
	in := &s3.ListObjectsV2Input{
		Bucket: aws.String(b.bucket),
		Prefix: aws.String(full),
	}
	if startAfter != "" {
		in.StartAfter = aws.String(b.fullKey(startAfter))
	}
	if b.maxKeys > 0 {
		in.MaxKeys = aws.Int32(b.maxKeys)
	}
	p := s3.NewListObjectsV2Paginator(b.client, in)
	strip := len(b.fullKey(""))
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing %s: %w", b.URL(prefix), err)
		}
		objs := make([]Object, 0, len(page.Contents))
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if len(k) < strip || strings.HasSuffix(k, "/") {
				continue // a "directory" marker
			}
			objs = append(objs, Object{Key: k[strip:], Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag), Modified: aws.ToTime(o.LastModified)})
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
		if err := fn(objs); err != nil {
			return err
		}
	}
	return nil
}

// Get streams the object. The body resumes by itself (a ranged GetObject
// pinned to the ETag) when the connection breaks mid-read.
func (b *s3Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkS3Key(key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), err)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.fullKey(key)),
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.URL(key), mapNotFound(err))
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	return &s3Reader{
		ctx:  ctx,
		b:    b,
		key:  key,
		etag: aws.ToString(out.ETag),
		body: out.Body,
		size: size,
	}, nil
}

// Put uploads r in one PutObject. A reader that is not an io.ReadSeeker is
// read into memory first so that the SDK can retry the upload.
func (b *s3Bucket) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkS3Key(key); err != nil {
		return fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	body, size, err := seekable(r)
	if err != nil {
		return fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.fullKey(key)),
		Body:          body,
		ContentLength: aws.Int64(size),
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	return nil
}

// seekable returns r as an io.ReadSeeker and the number of bytes from its
// current position to its end.
func seekable(r io.Reader) (io.ReadSeeker, int64, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		cur, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			var end int64
			end, err = rs.Seek(0, io.SeekEnd)
			if err == nil {
				_, err = rs.Seek(cur, io.SeekStart)
			}
			if err == nil {
				return rs, end - cur, nil
			}
		}
		// Not really seekable (a pipe behind *os.File): buffer it.
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(data), int64(len(data)), nil
}

// Delete removes the object; S3 deletes of missing keys succeed.
func (b *s3Bucket) Delete(ctx context.Context, key string) error {
	if err := checkS3Key(key); err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.fullKey(key)),
	})
	if err != nil && !errors.Is(mapNotFound(err), ErrNotFound) {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	return nil
}

// Copy copies server-side with CopyObject (objects up to 5 GB).
func (b *s3Bucket) Copy(ctx context.Context, srcKey, dstKey string) error {
	if err := checkS3Key(srcKey); err != nil {
		return fmt.Errorf("copying %s: %w", b.URL(srcKey), err)
	}
	if err := checkS3Key(dstKey); err != nil {
		return fmt.Errorf("copying to %s: %w", b.URL(dstKey), err)
	}
	_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(b.bucket),
		Key:        aws.String(b.fullKey(dstKey)),
		CopySource: aws.String(escapeCopySource(b.bucket + "/" + b.fullKey(srcKey))),
	})
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", b.URL(srcKey), b.URL(dstKey), mapNotFound(err))
	}
	return nil
}

// escapeCopySource percent-encodes everything but unreserved characters and
// "/", so that "+" is not read as a space by any server.
func escapeCopySource(s string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&15])
	}
	return sb.String()
}

// Check asks for the bucket with HeadBucket: it fails when the endpoint is
// unreachable, the bucket is missing or the credentials are refused.
func (b *s3Bucket) Check(ctx context.Context) error {
	_, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.bucket)})
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			switch re.HTTPStatusCode() {
			case http.StatusNotFound:
				return fmt.Errorf("checking %s: bucket %q does not exist", b.URL(""), b.bucket)
			case http.StatusForbidden:
				return fmt.Errorf("checking %s: access denied (check the AWS credentials): %w", b.URL(""), err)
			}
		}
		return fmt.Errorf("checking %s: %w", b.URL(""), err)
	}
	return nil
}

// mapNotFound turns the SDK's "no such key" errors into ErrNotFound (the
// caller adds the key's URL). A missing bucket is not ErrNotFound.
func mapNotFound(err error) error {
	if isNotFound(err) {
		return ErrNotFound
	}
	return err
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var nf *types.NotFound
	if errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
