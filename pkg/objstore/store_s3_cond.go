package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Conditional requests on S3.
//
// Without a deadline they are plain PutObject and DeleteObject calls with
// If-None-Match / If-Match (the SDK retries them). With a deadline, each
// attempt is a request presigned to expire at the deadline (X-Amz-Expires),
// sent with the SDK's HTTP client: S3 refuses a presigned request that
// arrives after its expiry by its own clock, so a request that a slow
// network or endpoint delays past the deadline never takes effect. The
// expiry is whole seconds counted from X-Amz-Date, which is the signing time
// truncated to the second, so an attempt is signed to expire at least a
// second before the deadline, and not sent when less than a second is left.

var _ Conditional = (*s3Bucket)(nil)

// PutIf implements Conditional.
func (b *s3Bucket) PutIf(ctx context.Context, key string, r io.Reader, c Cond) (string, error) {
	if err := checkS3Key(key); err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	if c.IfAbsent && c.IfMatch != "" {
		return "", fmt.Errorf("writing %s: IfAbsent and IfMatch together", b.URL(key))
	}
	body, size, err := seekable(r)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.fullKey(key)),
		ContentLength: aws.Int64(size),
	}
	if c.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if c.IfMatch != "" {
		in.IfMatch = aws.String(c.IfMatch)
	}
	if c.Deadline.IsZero() {
		in.Body = body
		out, err := b.client.PutObject(ctx, in)
		if err != nil {
			err = mapCondErr(err)
			if errors.Is(err, ErrNotFound) { // If-Match on a missing key
				err = ErrPrecondition
			}
			return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
		}
		return aws.ToString(out.ETag), nil
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	sum := md5.Sum(data)
	in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
	resp, err := b.presigned(ctx, c.Deadline, data, func(ctx context.Context, exp time.Duration) (*v4.PresignedHTTPRequest, error) {
		return b.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(exp))
	})
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", b.URL(key), err)
	}
	return resp.Header.Get("ETag"), nil
}

// DeleteIf implements Conditional. A missing key is deleted.
func (b *s3Bucket) DeleteIf(ctx context.Context, key string, c Cond) error {
	if err := checkS3Key(key); err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	if c.IfAbsent {
		return fmt.Errorf("deleting %s: IfAbsent is not a delete condition", b.URL(key))
	}
	in := &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.fullKey(key))}
	if c.IfMatch != "" {
		in.IfMatch = aws.String(c.IfMatch)
	}
	var err error
	if c.Deadline.IsZero() {
		_, err = b.client.DeleteObject(ctx, in)
		err = mapCondErr(err)
	} else {
		_, err = b.presigned(ctx, c.Deadline, nil, func(ctx context.Context, exp time.Duration) (*v4.PresignedHTTPRequest, error) {
			return b.presign.PresignDeleteObject(ctx, in, s3.WithPresignExpires(exp))
		})
	}
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", b.URL(key), err)
	}
	return nil
}

// GetVersion implements Conditional.
func (b *s3Bucket) GetVersion(ctx context.Context, key string) (io.ReadCloser, string, error) {
	rc, err := b.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	return rc, rc.(*s3Reader).etag, nil
}

// ListAfter implements AfterLister with ListObjectsV2's StartAfter.
func (b *s3Bucket) ListAfter(ctx context.Context, prefix, startAfter string) ([]Object, error) {
	var objs []Object
	err := b.listPages(ctx, prefix, startAfter, func(page []Object) error {
		objs = append(objs, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// presigned sends the request that sign presigns, with body, until it
// succeeds, fails for good, or the deadline is too close to sign another
// attempt. Transient failures (5xx, 409 conflicting conditional writes,
// connection errors) are retried with jittered backoff.
func (b *s3Bucket) presigned(ctx context.Context, deadline time.Time, body []byte,
	sign func(context.Context, time.Duration) (*v4.PresignedHTTPRequest, error)) (*http.Response, error) {
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		exp := time.Until(deadline).Truncate(time.Second) - time.Second
		if exp < time.Second {
			return nil, ErrExpired
		}
		ps, err := sign(ctx, exp)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, ps.Method, ps.URL, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for k, vs := range ps.SignedHeader {
			if strings.EqualFold(k, "Host") {
				continue
			}
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		req.ContentLength = int64(len(body))
		resp, err := b.http.Do(req)
		var retryable error
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			retryable = err
		} else {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			switch code := resp.StatusCode; {
			case code >= 200 && code < 300:
				return resp, nil
			case code == http.StatusPreconditionFailed:
				return nil, ErrPrecondition
			case code == http.StatusNotFound:
				if isNoSuchKeyBody(data) {
					if ps.Method == http.MethodPut {
						return nil, ErrPrecondition // If-Match on a missing key
					}
					return nil, ErrNotFound
				}
				return nil, s3StatusError(resp, data)
			case code == http.StatusForbidden && isExpiredBody(data):
				return nil, ErrExpired
			case code == http.StatusConflict, code >= 500, code == http.StatusTooManyRequests:
				retryable = s3StatusError(resp, data)
			default:
				return nil, s3StatusError(resp, data)
			}
		}
		if attempt >= b.opts.MaxAttempts {
			return nil, retryable
		}
		b.log.Warn("retrying a conditional S3 request", "attempt", attempt, "err", retryable)
		t := time.NewTimer(rand.N(delay) + 1)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

type s3ErrorBody struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func parseS3Error(data []byte) s3ErrorBody {
	var e s3ErrorBody
	_ = xml.Unmarshal(data, &e)
	return e
}

func isNoSuchKeyBody(data []byte) bool {
	e := parseS3Error(data)
	return e.Code == "NoSuchKey" || e.Code == ""
}

func isExpiredBody(data []byte) bool {
	e := parseS3Error(data)
	return strings.Contains(strings.ToLower(e.Message), "expired")
}

func s3StatusError(resp *http.Response, data []byte) error {
	e := parseS3Error(data)
	if e.Code == "" {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, e.Code, e.Message)
}

// mapCondErr maps the SDK's errors of a conditional request to ErrPrecondition.
func mapCondErr(err error) error {
	if err == nil {
		return nil
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
		return fmt.Errorf("%w: %v", ErrPrecondition, err)
	}
	return mapNotFound(err)
}

// ListDirs implements DirLister with ListObjectsV2's delimiter "/".
func (b *s3Bucket) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	full := b.fullKey(prefix)
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.bucket), Prefix: aws.String(full), Delimiter: aws.String("/"),
	})
	var dirs []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", b.URL(prefix), err)
		}
		for _, cp := range page.CommonPrefixes {
			d := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), full), "/")
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}
