package kafkax_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"

	"github.com/pinpipe/pinpipe/pkg/kafkax"
)

// isolateAWS makes the standard AWS configuration come from the variables
// given only (no profile files of the machine).
func isolateAWS(t *testing.T, vars map[string]string) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(k, vars[k])
	}
}

// TestMSKIAMPayload checks the AWS_MSK_IAM login payload against the format
// of aws-msk-iam-auth (a JSON object of version 2020_10_22 carrying a SigV4
// presigned kafka-cluster:Connect request) and recomputes its signature by
// hand. kfake has no AWS_MSK_IAM, so this is the test of the mechanism; it
// has not been run against a live MSK cluster.
func TestMSKIAMPayload(t *testing.T) {
	const (
		akid   = "AKIDEXAMPLE"
		secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
		host   = "b-1.pinpipe.abc123.c2.kafka.eu-west-1.amazonaws.com"
	)
	signTime := time.Date(2026, 11, 25, 13, 45, 7, 0, time.UTC)
	for _, tc := range []struct {
		name, token, flagRegion, envRegion, wantRegion string
	}{
		{"long-term key, region from --kafka-aws-region", "", "eu-west-1", "us-east-1", "eu-west-1"},
		{"session token, region from AWS_REGION", "FwoGZXIvYXdzEXAMPLE/token+with=chars", "", "eu-central-1", "eu-central-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t, map[string]string{"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret,
				"AWS_SESSION_TOKEN": tc.token, "AWS_REGION": tc.envRegion})
			c := kafkax.Config{TLS: true, SASL: "AWS_MSK_IAM", AWSRegion: tc.flagRegion}
			mech, err := c.SASLMechanism(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if mech.Name() != "AWS_MSK_IAM" {
				t.Fatalf("mechanism %q", mech.Name())
			}
			m, ok := mech.(*aws_msk_iam_v2.Mechanism)
			if !ok {
				t.Fatalf("mechanism is a %T", mech)
			}
			m.SignTime = signTime
			ctx := sasl.WithMetadata(t.Context(), &sasl.Metadata{Host: host, Port: 9098})
			_, ir, err := m.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var p map[string]string
			if err := json.Unmarshal(ir, &p); err != nil {
				t.Fatalf("payload %s: %v", ir, err)
			}
			keys := []string{"version", "host", "user-agent", "action", "x-amz-algorithm", "x-amz-credential",
				"x-amz-date", "x-amz-expires", "x-amz-signedheaders", "x-amz-signature"}
			if tc.token != "" {
				keys = append(keys, "x-amz-security-token")
			}
			var got []string
			for k := range p {
				got = append(got, k)
			}
			slices.Sort(got)
			slices.Sort(keys)
			if !slices.Equal(got, keys) {
				t.Fatalf("payload keys %v, want %v", got, keys)
			}
			scope := "20261125/" + tc.wantRegion + "/kafka-cluster/aws4_request"
			for k, want := range map[string]string{
				"version": "2020_10_22", "host": host, "action": "kafka-cluster:Connect",
				"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": akid + "/" + scope,
				"x-amz-date": "20261125T134507Z", "x-amz-expires": "300", "x-amz-signedheaders": "host",
			} {
				if p[k] != want {
					t.Errorf("%s = %q, want %q", k, p[k], want)
				}
			}
			if tc.token != "" && p["x-amz-security-token"] != tc.token {
				t.Errorf("x-amz-security-token = %q, want %q", p["x-amz-security-token"], tc.token)
			}
			if p["user-agent"] == "" {
				t.Error("no user-agent")
			}
			if want := sigV4Presign(secret, tc.wantRegion, host, p); p["x-amz-signature"] != want {
				t.Errorf("x-amz-signature = %s, want %s (recomputed)", p["x-amz-signature"], want)
			}
		})
	}
}

// sigV4Presign recomputes the signature of a presigned
// GET kafka://host/?Action=kafka-cluster:Connect by the SigV4 specification.
func sigV4Presign(secret, region, host string, p map[string]string) string {
	q := map[string]string{
		"Action":              p["action"],
		"X-Amz-Algorithm":     p["x-amz-algorithm"],
		"X-Amz-Credential":    p["x-amz-credential"],
		"X-Amz-Date":          p["x-amz-date"],
		"X-Amz-Expires":       p["x-amz-expires"],
		"X-Amz-SignedHeaders": p["x-amz-signedheaders"],
	}
	if tok, ok := p["x-amz-security-token"]; ok {
		q["X-Amz-Security-Token"] = tok
	}
	var names []string
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var pairs []string
	for _, k := range names {
		pairs = append(pairs, uriEncode(k)+"="+uriEncode(q[k]))
	}
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	canonical := strings.Join([]string{"GET", "/", strings.Join(pairs, "&"), "host:" + host + "\n", "host", emptySHA256}, "\n")
	date := p["x-amz-date"]
	scope := date[:8] + "/" + region + "/kafka-cluster/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range []string{date[:8], region, "kafka-cluster", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~
// percent-encoded, a space as %20.
func uriEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func TestMSKIAMNoRegion(t *testing.T) {
	isolateAWS(t, map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"})
	c := kafkax.Config{TLS: true, SASL: "AWS_MSK_IAM"}
	if _, err := c.Dialer(0); err == nil || !strings.Contains(err.Error(), "no AWS region: set --kafka-aws-region, PINPIPE_KAFKA_AWS_REGION or AWS_REGION") {
		t.Errorf("Dialer without a region = %v", err)
	}
}
