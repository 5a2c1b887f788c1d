package objstore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/pinpipe/pinpipe/internal/devstack"
)

func TestMain(m *testing.M) {
	code := m.Run()
	devstack.Shutdown()
	os.Exit(code)
}

// s3Env is where the test S3 server (versitygw, from devstack) answers.
type s3Env struct {
	Endpoint string
	Bucket   string // fresh and empty, deleted after the test
	Client   *s3.Client
}

// requireS3 gets the local S3 server, creates a fresh bucket and points the
// standard AWS environment variables at the server's credentials, with no
// endpoint: the tests pass it in Options or set it themselves.
func requireS3(t *testing.T) s3Env {
	t.Helper()
	env := devstack.Require(t, devstack.S3)
	bucket := env.NewBucket(t)
	setAWSEnv(t, env.AccessKey, env.SecretKey, env.Region)
	return s3Env{Endpoint: env.S3Endpoint, Bucket: bucket, Client: env.S3Client()}
}

// setAWSEnv isolates the AWS configuration of a test from the machine's.
func setAWSEnv(t *testing.T, accessKey, secretKey, region string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                gwOr(accessKey, "test"),
		"AWS_SECRET_ACCESS_KEY":            gwOr(secretKey, "testsecret"),
		"AWS_REGION":                       gwOr(region, "us-east-1"),
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(t.TempDir(), "none"),
		"AWS_PROFILE":                      "",
		"AWS_ENDPOINT_URL":                 "",
		"AWS_ENDPOINT_URL_S3":              "",
		"AWS_MAX_ATTEMPTS":                 "",
		"AWS_REQUEST_CHECKSUM_CALCULATION": "",
		"AWS_RESPONSE_CHECKSUM_VALIDATION": "",
	} {
		t.Setenv(k, v)
	}
}

func gwOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
