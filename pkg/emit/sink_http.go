package emit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/clean"
)

// HTTPOptions configures the HTTP sinks (Kafka REST Proxy, API Gateway).
type HTTPOptions struct {
	// URL is the base ending in /topics/ (REST Proxy) or /streams/ (API
	// Gateway). Required.
	URL string
	// Prefix P names the topics or streams. Required.
	Prefix string
	// Client does the requests. Default: a client with a 30s timeout.
	Client *http.Client
	// MaxBatch is the number of records per request. For the API Gateway,
	// 1 uses the single-record endpoint .../record. Default: 500.
	MaxBatch int
	// MaxAttempts is how often a request is tried. Default: 5.
	MaxAttempts int
	// Backoff is the first wait before a retry; it doubles (jittered) up to 5s.
	// Default: 100ms.
	Backoff time.Duration
	// Header is added to every request (e.g. an API key).
	Header http.Header
	// Create makes the API Gateway sink's Check create the missing streams
	// (one shard each) and wait until they are ACTIVE. The REST Proxy has no
	// way to create topics: it ignores Create. Default: false.
	Create bool
}

// Validate reports a bad option.
func (o HTTPOptions) Validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("http target %q: want http(s)://host/.../topics/ or .../streams/", o.URL)
	}
	if o.Prefix == "" {
		return errors.New("http target: no prefix")
	}
	return nil
}

func (o HTTPOptions) withDefaults() HTTPOptions {
	if !strings.HasSuffix(o.URL, "/") {
		o.URL += "/"
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 500
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff == 0 {
		o.Backoff = 100 * time.Millisecond
	}
	return o
}

// httpMaxBody bounds the body of one batched request.
const httpMaxBody = 4 << 20

// checkReachable dials the host of rawURL: a bad address or a server that is
// not listening is one clear error before anything is sent.
func checkReachable(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("http target %s unreachable: %w", u.Redacted(), err)
	}
	return c.Close()
}

// do sends one request, retrying network errors, 408, 429 and 5xx answers
// with backoff. It returns the body of a 2xx answer.
func (o HTTPOptions) do(ctx context.Context, method, target, ctype string, body []byte) ([]byte, error) {
	var resp []byte
	err := retry.Do(ctx, o.retryPolicy(), func(ctx context.Context) error {
		var err error
		resp, err = o.once(ctx, method, target, ctype, body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// retryPolicy is how the HTTP sinks retry a request, or the records a
// request reports failed: MaxAttempts tries, waits from Backoff doubling
// (jittered) up to 5s.
func (o HTTPOptions) retryPolicy() retry.Policy {
	return retry.Policy{Initial: o.Backoff, Max: maxBackoff, MaxAttempts: o.MaxAttempts}
}

// maxBackoff caps the waits between the sinks' retries.
const maxBackoff = 5 * time.Second

func (o HTTPOptions) once(ctx context.Context, method, target, ctype string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, retry.Permanent(fmt.Errorf("%s %s: %w", method, target, err))
	}
	req.Header.Set("Content-Type", ctype)
	for k, v := range o.Header {
		req.Header[k] = v
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, target, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	err = &statusError{method: method, target: target, status: resp.StatusCode, msg: msg}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return nil, err
	}
	return nil, retry.Permanent(err)
}

// statusError is the error of a request answered with a status other than
// 2xx.
type statusError struct {
	method, target string
	status         int
	msg            string // the answer, cut
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.target, e.status, e.msg)
}

// hasStatus reports whether err is an answer with the status code.
func hasStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.status == code
}

// chunks splits idx into runs of at most max records and about httpMaxBody
// bytes.
func chunks(recs []Record, idx []int, max int) [][]int {
	var out [][]int
	for len(idx) > 0 {
		n, size := 0, 0
		for n < len(idx) && n < max {
			sz := len(recs[idx[n]].Value) + 32
			if n > 0 && size+sz > httpMaxBody {
				break
			}
			size += sz
			n++
		}
		out = append(out, idx[:n])
		idx = idx[n:]
	}
	return out
}

// byTable returns the indexes of recs per table, in table order.
func byTable(recs []Record) [3][]int {
	var out [3][]int
	for i, r := range recs {
		for k, t := range clean.Tables {
			if r.Table == t {
				out[k] = append(out[k], i)
			}
		}
	}
	return out
}
