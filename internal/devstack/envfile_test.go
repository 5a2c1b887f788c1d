package devstack

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEnvFileRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		env  Env
	}{
		{"full", Env{
			KafkaBrokers: []string{"127.0.0.1:1", "127.0.0.1:2"}, S3Endpoint: "http://127.0.0.1:3", S3Bucket: "b",
			KinesisEndpoint: "http://127.0.0.1:4", MySQLDSN: "root@tcp(127.0.0.1:3306)/test?parseTime=true",
			Region: "us-east-1", AccessKey: "a", SecretKey: "it's $ecret",
			PostgresURL: "postgres://postgres:p'w@127.0.0.1:5432/test?sslmode=disable&search_path=a,b",
		}},
		{"partial", Env{S3Endpoint: "http://x", Region: "r"}},
		{"empty", Env{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "env")
			if err := WriteEnvFile(p, tc.env); err != nil {
				t.Fatal(err)
			}
			got, err := ReadEnvFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.env) {
				t.Errorf("got %+v, want %+v", got, tc.env)
			}
		})
	}
}

func TestBucketName(t *testing.T) {
	tests := []string{"TestX", "TestS3/sub_test#01", strings.Repeat("VeryLong", 20), "__"}
	for _, name := range tests {
		got := bucketName(name)
		if len(got) < 3 || len(got) > 63 || strings.Contains(got, "--") || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("bucketName(%q) = %q, not a valid bucket name", name, got)
		}
	}
}

// TestSchemaName checks that the names NewPostgresSchema gives are
// PostgreSQL identifiers that need no quoting (lowercase letter or
// underscore, then lowercase letters, digits and underscores; at most 63
// bytes) and differ between two calls with the same test name.
func TestSchemaName(t *testing.T) {
	tests := []string{"TestX", "TestPostgres/sub-test#01", strings.Repeat("VeryLong", 20), "--", "Tést/ünïcode"}
	for _, name := range tests {
		got := uniqueName(name, "_")
		if len(got) > 63 || got[0] != 't' || strings.Contains(got, "__") || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("uniqueName(%q, \"_\") = %q, not a plain PostgreSQL identifier", name, got)
		}
		if again := uniqueName(name, "_"); again == got {
			t.Errorf("uniqueName(%q, \"_\") gave %q twice", name, got)
		}
	}
}

func TestServiceString(t *testing.T) {
	tests := []struct {
		s    Service
		want string
	}{{Kafka, "Kafka"}, {S3 | MySQL, "S3|MySQL"}, {MySQL | Postgres, "MySQL|Postgres"}, {0, "none"}}
	for _, tc := range tests {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", tc.s, got, tc.want)
		}
	}
}
