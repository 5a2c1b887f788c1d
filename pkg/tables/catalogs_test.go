package tables

// Tests of the REST and Glue catalogs without a network or AWS: an
// httptest server fakes the Iceberg REST protocol (backed by an iceberg-go
// SQL catalog, so that tables are really created and committed) or the
// Glue JSON API (an in-memory map of databases and tables), and the AWS
// configuration is the environment's, static credentials pointing the Glue
// client at the fake through AWS_ENDPOINT_URL_GLUE.

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/pinpipe/pinpipe/pkg/clean"
	"github.com/pinpipe/pinpipe/pkg/parquetio"
)

// The static AWS credentials of the tests.
const (
	testKeyID  = "AKIDPINPIPETEST"
	testSecret = "s3cr3t-aws-key"
	testRegion = "eu-west-3"
)

// isolateAWS makes the standard AWS configuration the test's: static
// credentials and region from the environment, no profile, config file,
// endpoint or instance metadata of the host.
func isolateAWS(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_GLUE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_REGION", testRegion)
}

// checkSigV4 verifies the AWS Signature V4 of a received request: the test
// credentials, region and service, and a signature that signing the
// request's signed headers and body again reproduces.
func checkSigV4(r *http.Request, body []byte, region, service string) error {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return fmt.Errorf("Authorization %q: not AWS4-HMAC-SHA256", auth)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	when, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", amzDate, err)
	}
	scope := fmt.Sprintf("Credential=%s/%s/%s/%s/aws4_request,", testKeyID, amzDate[:8], region, service)
	if !strings.Contains(auth, scope) {
		return fmt.Errorf("Authorization %q: want the scope %s", auth, scope)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hash {
		return fmt.Errorf("X-Amz-Content-Sha256 %s, the body's is %s", h, hash)
	}
	_, signed, _ := strings.Cut(auth, "SignedHeaders=")
	signed, _, _ = strings.Cut(signed, ",")
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return err
	}
	for _, h := range strings.Split(signed, ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, again, hash, service, region, when); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, want)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// restFake is an Iceberg REST catalog server: GET /v1/config, the OAuth
// token exchange, and under /v1/{prefix}: create namespace, load, create
// and commit table, served by an iceberg-go SQL catalog whose warehouse is
// a local directory.
type restFake struct {
	t       *testing.T
	base    string // the path of the catalog URL: /api/catalog
	prefix  string // the path segment after /v1 of every request but config's, or ""
	backend catalog.Catalog
	// auth checks every request but the token exchange's.
	auth func(r *http.Request, body []byte) error

	mu          sync.Mutex
	paths       []string     // "METHOD path" of every request
	configQuery []url.Values // of each GET /v1/config
	tokenForms  []url.Values // of each token exchange
	creates     [][]byte     // create-table request bodies
	commits     int
}

// newRESTFake returns a REST catalog server whose tables go to the local
// directory wh.
func newRESTFake(t *testing.T, wh, base, prefix string) (*restFake, *httptest.Server) {
	t.Helper()
	registerIO()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "backend.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	backend, err := sqlcat.NewCatalog("fake-rest", db, sqlcat.SQLite, iceberg.Properties{"warehouse": "file://" + filepath.ToSlash(wh)})
	if err != nil {
		t.Fatal(err)
	}
	f := &restFake{t: t, base: base, prefix: prefix, backend: backend}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// restError answers the REST protocol's error model.
func restError(w http.ResponseWriter, code int, typ, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code}})
}

func (f *restFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	v1 := f.base + "/v1"
	if r.Method == http.MethodPost && r.URL.Path == v1+"/oauth/tokens" {
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.tokenForms = append(f.tokenForms, form)
		f.mu.Unlock()
		if form.Get("grant_type") != "client_credentials" || form.Get("client_id") != "pinpipe" || form.Get("client_secret") != "s3cr3t-client" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "unknown client"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "exchanged-token", "token_type": "bearer", "expires_in": 3600,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
		return
	}
	if f.auth != nil {
		if err := f.auth(r, body); err != nil {
			restError(w, http.StatusUnauthorized, "NotAuthorizedException", err.Error())
			return
		}
	}
	if r.Method == http.MethodGet && r.URL.Path == v1+"/config" {
		f.mu.Lock()
		f.configQuery = append(f.configQuery, r.URL.Query())
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}})
		return
	}
	root := v1
	if f.prefix != "" {
		root += "/" + f.prefix
	}
	rest, ok := strings.CutPrefix(r.URL.Path, root+"/")
	if !ok {
		f.t.Errorf("REST request %s %s: not under %s", r.Method, r.URL.Path, root)
		restError(w, http.StatusNotFound, "NotFoundException", "no such route")
		return
	}
	ctx := r.Context()
	p := strings.Split(rest, "/")
	switch {
	case r.Method == http.MethodPost && rest == "namespaces":
		var req struct {
			Namespace  []string           `json:"namespace"`
			Properties iceberg.Properties `json:"properties"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			restError(w, http.StatusBadRequest, "BadRequestException", err.Error())
			return
		}
		err := f.backend.CreateNamespace(ctx, req.Namespace, req.Properties)
		if errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			restError(w, http.StatusConflict, "AlreadyExistsException", err.Error())
			return
		} else if err != nil {
			restError(w, http.StatusInternalServerError, "ServerError", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"namespace": req.Namespace, "properties": map[string]string{}})
	case r.Method == http.MethodGet && len(p) == 4 && p[0] == "namespaces" && p[2] == "tables":
		tbl, err := f.backend.LoadTable(ctx, table.Identifier{p[1], p[3]})
		if errors.Is(err, catalog.ErrNoSuchTable) {
			restError(w, http.StatusNotFound, "NoSuchTableException", err.Error())
			return
		} else if err != nil {
			restError(w, http.StatusInternalServerError, "ServerError", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"metadata-location": tbl.MetadataLocation(), "metadata": tbl.Metadata()})
	case r.Method == http.MethodPost && len(p) == 3 && p[0] == "namespaces" && p[2] == "tables":
		f.mu.Lock()
		f.creates = append(f.creates, body)
		f.mu.Unlock()
		var req struct {
			Name          string                        `json:"name"`
			Schema        *iceberg.Schema               `json:"schema"`
			Location      string                        `json:"location"`
			PartitionSpec *iceberg.UnboundPartitionSpec `json:"partition-spec"`
			Properties    iceberg.Properties            `json:"properties"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			restError(w, http.StatusBadRequest, "BadRequestException", err.Error())
			return
		}
		opts := []catalog.CreateTableOpt{catalog.WithProperties(req.Properties)}
		if req.PartitionSpec != nil {
			opts = append(opts, catalog.WithPartitionSpec(&req.PartitionSpec.PartitionSpec))
		}
		if req.Location != "" {
			opts = append(opts, catalog.WithLocation(req.Location))
		}
		tbl, err := f.backend.CreateTable(ctx, table.Identifier{p[1], req.Name}, req.Schema, opts...)
		if errors.Is(err, catalog.ErrTableAlreadyExists) {
			restError(w, http.StatusConflict, "AlreadyExistsException", err.Error())
			return
		} else if err != nil {
			restError(w, http.StatusInternalServerError, "ServerError", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"metadata-location": tbl.MetadataLocation(), "metadata": tbl.Metadata()})
	case r.Method == http.MethodPost && len(p) == 4 && p[0] == "namespaces" && p[2] == "tables":
		var req struct {
			Requirements table.Requirements `json:"requirements"`
			Updates      table.Updates      `json:"updates"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			restError(w, http.StatusBadRequest, "BadRequestException", err.Error())
			return
		}
		ident := table.Identifier{p[1], p[3]}
		// A requirement the current table fails is a conflict (409), as
		// in the protocol (the SQL catalog's error does not say so).
		cur, err := f.backend.LoadTable(ctx, ident)
		if err != nil {
			restError(w, http.StatusNotFound, "NoSuchTableException", err.Error())
			return
		}
		for _, rq := range req.Requirements {
			if err := rq.Validate(cur.Metadata()); err != nil {
				restError(w, http.StatusConflict, "CommitFailedException", err.Error())
				return
			}
		}
		meta, loc, err := f.backend.CommitTable(ctx, ident, req.Requirements, req.Updates)
		if errors.Is(err, table.ErrCommitFailed) {
			restError(w, http.StatusConflict, "CommitFailedException", err.Error())
			return
		} else if err != nil {
			restError(w, http.StatusInternalServerError, "ServerError", err.Error())
			return
		}
		f.mu.Lock()
		f.commits++
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"metadata-location": loc, "metadata": meta})
	default:
		f.t.Errorf("REST request %s %s: not faked", r.Method, r.URL.Path)
		restError(w, http.StatusBadRequest, "BadRequestException", "not faked")
	}
}

// bearer checks the requests' Authorization header.
func bearer(token string) func(*http.Request, []byte) error {
	return func(r *http.Request, _ []byte) error {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			return errors.New("not the token")
		}
		return nil
	}
}

// createRequest is what the tests check of a create-table request.
type createRequest struct {
	Name          string             `json:"name"`
	Schema        *iceberg.Schema    `json:"schema"`
	Location      string             `json:"location"`
	PartitionSpec *json.RawMessage   `json:"partition-spec"`
	Properties    iceberg.Properties `json:"properties"`
}

// checkCreate checks a create-table request of def: its columns and their
// field ids, its partition spec and the properties of a new table.
func checkCreate(t *testing.T, body []byte, def Def) {
	t.Helper()
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("create-table request %s: %v", body, err)
	}
	want, err := def.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if req.Name != def.Name {
		t.Errorf("created table %q, want %q", req.Name, def.Name)
	}
	if req.Schema == nil || !req.Schema.Equals(want) {
		t.Errorf("created with the schema %v, want %v", req.Schema, want)
	}
	var spec struct {
		Fields []struct {
			SourceID  int    `json:"source-id"`
			FieldID   int    `json:"field-id"`
			Name      string `json:"name"`
			Transform string `json:"transform"`
		} `json:"fields"`
	}
	if req.PartitionSpec == nil {
		t.Fatal("created without a partition spec")
	}
	if err := json.Unmarshal(*req.PartitionSpec, &spec); err != nil {
		t.Fatal(err)
	}
	if def.ByDay {
		dt, ok := want.FindFieldByName(parquetio.ColDT)
		if !ok {
			t.Fatal("no dt column")
		}
		if len(spec.Fields) != 1 || spec.Fields[0].SourceID != dt.ID || spec.Fields[0].FieldID != partitionFieldID ||
			spec.Fields[0].Name != "dt" || spec.Fields[0].Transform != "identity" {
			t.Errorf("partition spec %s, want identity(dt) of source %d, field %d", *req.PartitionSpec, dt.ID, partitionFieldID)
		}
	} else if def.Buckets > 0 {
		ind, _ := want.FindFieldByName("ind")
		if len(spec.Fields) != 1 || spec.Fields[0].SourceID != ind.ID || spec.Fields[0].Transform != fmt.Sprintf("bucket[%d]", def.Buckets) {
			t.Errorf("partition spec %s, want bucket[%d](ind)", *req.PartitionSpec, def.Buckets)
		}
	} else if len(spec.Fields) != 0 {
		t.Errorf("partition spec %s of a table not partitioned", *req.PartitionSpec)
	}
	for k, v := range createProps {
		if req.Properties[k] != v {
			t.Errorf("created with the property %s=%q, want %q", k, req.Properties[k], v)
		}
	}
}

// TestRESTCatalog: a REST catalog with a token, a prefix and a local
// warehouse creates, commits and loads tables through the protocol.
func TestRESTCatalog(t *testing.T) {
	ctx := t.Context()
	wh := filepath.Join(t.TempDir(), "wh")
	f, srv := newRESTFake(t, wh, "/api/catalog", "ws1")
	f.auth = bearer("s3cr3t-token")
	cfg := Config{Catalog: "rest+" + srv.URL + "/api/catalog?prefix=ws1&token=s3cr3t-token", Warehouse: wh}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if strings.Contains(c.String(), "s3cr3t") {
		t.Errorf("the catalog's description shows the token: %s", c)
	}
	if len(f.configQuery) != 1 || f.configQuery[0].Get("warehouse") != "file://"+filepath.ToSlash(wh) {
		t.Errorf("GET /v1/config queries %v, want warehouse=file://%s", f.configQuery, wh)
	}

	// A table by day: created through the protocol.
	def := StreamDef(clean.TablePin, false)
	tbl, err := c.Ensure(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.creates) != 1 {
		t.Fatalf("%d create-table requests, want 1", len(f.creates))
	}
	checkCreate(t, f.creates[0], def)
	if loc := tbl.Iceberg().Location(); !strings.HasPrefix(loc, "file://"+filepath.ToSlash(wh)+"/") {
		t.Errorf("table location %s, want under the warehouse %s", loc, wh)
	}
	if _, err := os.Stat(strings.TrimPrefix(tbl.Iceberg().MetadataLocation(), "file://")); err != nil {
		t.Errorf("the table's metadata file: %v", err)
	}
	if v := tbl.Iceberg().Metadata().Version(); v != 2 {
		t.Errorf("format version %d, want 2", v)
	}

	// Commits go through the catalog, with their properties.
	f1 := writePins(t, tbl, "2026-12-01", "a.parquet", pins(0, 3))
	if err := tbl.Commit(ctx, Change{Add: []File{f1}, Properties: iceberg.Properties{"pinpipe.test": "1"}}); err != nil {
		t.Fatal(err)
	}
	again, err := c.Ensure(ctx, def) // loads it
	if err != nil {
		t.Fatal(err)
	}
	if len(f.creates) != 1 {
		t.Errorf("Ensure of an existing table created it again")
	}
	if got := readInds(t, c, again); !slices.Equal(got, []int64{0, 1, 2}) {
		t.Errorf("inds %v", got)
	}
	if got := again.Properties()["pinpipe.test"]; got != "1" {
		t.Errorf("property %q, want 1", got)
	}
	// A commit on a stale handle fails as a conflict (409).
	f2 := writePins(t, tbl, "2026-12-02", "b.parquet", pins(3, 1))
	if err := tbl.Commit(ctx, Change{Add: []File{f2}}); err != nil {
		t.Fatal(err)
	}
	f3 := writePins(t, again, "2026-12-03", "c.parquet", pins(4, 1))
	err = again.Commit(ctx, Change{Add: []File{f3}})
	if !errors.Is(err, table.ErrCommitFailed) || !strings.Contains(err.Error(), c.String()) {
		t.Errorf("a commit on a stale table: %v, want a commit conflict naming the catalog", err)
	}
	if err := again.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readInds(t, c, again); !slices.Equal(got, []int64{0, 1, 2, 3}) {
		t.Errorf("after the conflict: inds %v", got)
	}

	// A table not by day.
	geo := CleanDef(clean.TableGeo)
	if _, err := c.Ensure(ctx, geo); err != nil {
		t.Fatal(err)
	}
	checkCreate(t, f.creates[1], geo)

	// Opening it again finds the namespace (409 on create).
	c2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()

	for _, p := range f.paths {
		if !strings.HasPrefix(p, "GET /api/catalog/v1/config") && !strings.Contains(p, " /api/catalog/v1/ws1/") {
			t.Errorf("request %s: not under the prefix", p)
		}
	}
	if f.commits != 2 {
		t.Errorf("%d commits reached the catalog, want 2", f.commits)
	}
}

// TestRESTCatalogCredential: credential= is exchanged for a token at
// /v1/oauth/tokens, with scope=; a refused credential is an error naming the
// catalog, without the secret.
func TestRESTCatalogCredential(t *testing.T) {
	ctx := t.Context()
	wh := filepath.Join(t.TempDir(), "wh")
	f, srv := newRESTFake(t, wh, "", "")
	f.auth = bearer("exchanged-token")
	c, err := Open(ctx, Config{Catalog: "rest+" + srv.URL + "?credential=pinpipe:s3cr3t-client&scope=PRINCIPAL_ROLE:ALL", Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Ensure(ctx, CleanDef(clean.TableUser)); err != nil {
		t.Fatal(err)
	}
	if len(f.tokenForms) == 0 {
		t.Fatal("no token exchange")
	}
	for _, form := range f.tokenForms {
		if form.Get("scope") != "PRINCIPAL_ROLE:ALL" {
			t.Errorf("token exchange %v: want scope=PRINCIPAL_ROLE:ALL", form)
		}
	}
	if !slices.Contains(f.paths, "POST /v1/oauth/tokens") {
		t.Errorf("requests %v: no POST /v1/oauth/tokens", f.paths)
	}

	_, err = Open(ctx, Config{Catalog: "rest+" + srv.URL + "?credential=pinpipe:s3cr3t-wrong", Warehouse: wh})
	if err == nil || !strings.Contains(err.Error(), "catalog rest+"+srv.URL) || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("Open with a refused credential: %v, want invalid_client naming the catalog", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows the credential: %v", err)
	}
}

// TestRESTCatalogRefused: a refused token is an error naming the catalog,
// without the token.
func TestRESTCatalogRefused(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "wh")
	f, srv := newRESTFake(t, wh, "/api", "")
	f.auth = bearer("the-right-token")
	_, err := Open(t.Context(), Config{Catalog: "rest+" + srv.URL + "/api?token=s3cr3t-wrong", Warehouse: wh})
	if err == nil || !strings.Contains(err.Error(), "catalog rest+"+srv.URL+"/api?token=xxxxx") ||
		!strings.Contains(err.Error(), "NotAuthorizedException") {
		t.Errorf("Open with a refused token: %v, want NotAuthorizedException naming the catalog", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows the token: %v", err)
	}
}

// TestRESTCatalogWarehouseName: warehouse= names the catalog's warehouse in
// GET /v1/config; without --warehouse, the tables' files go where the
// catalog puts them.
func TestRESTCatalogWarehouseName(t *testing.T) {
	ctx := t.Context()
	wh := filepath.Join(t.TempDir(), "server-wh")
	f, srv := newRESTFake(t, wh, "", "")
	const arn = "arn:aws:s3tables:eu-west-3:123456789012:bucket/pinpipe"
	c, err := Open(ctx, Config{Catalog: "rest+" + srv.URL + "?warehouse=" + url.QueryEscape(arn)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(f.configQuery) != 1 || f.configQuery[0].Get("warehouse") != arn {
		t.Errorf("GET /v1/config queries %v, want warehouse=%s", f.configQuery, arn)
	}
	tbl, err := c.Ensure(ctx, StreamDef(clean.TableGeo, false))
	if err != nil {
		t.Fatal(err)
	}
	if loc := tbl.Iceberg().Location(); !strings.HasPrefix(loc, "file://"+filepath.ToSlash(wh)+"/") {
		t.Errorf("table location %s, want under the catalog's warehouse %s", loc, wh)
	}
	f1 := writePins(t, tbl, "2026-12-01", "a.parquet", pins(0, 2))
	if err := tbl.Commit(ctx, Change{Add: []File{f1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(strings.TrimPrefix(f1.Location, "file://")); err != nil {
		t.Errorf("data file: %v", err)
	}
}

// TestRESTCatalogSigV4: sigv4=region/service signs every request with the
// standard AWS configuration's credentials (and its region when the
// parameter names none).
func TestRESTCatalogSigV4(t *testing.T) {
	for _, tc := range []struct{ param, region, service string }{
		{"us-west-2/s3tables", "us-west-2", "s3tables"},
		{"/glue", testRegion, "glue"},
		{"us-east-1", "us-east-1", "execute-api"},
	} {
		t.Run(tc.param, func(t *testing.T) {
			isolateAWS(t)
			ctx := t.Context()
			wh := filepath.Join(t.TempDir(), "wh")
			f, srv := newRESTFake(t, wh, "/iceberg", "")
			var signed int
			f.auth = func(r *http.Request, body []byte) error {
				signed++
				return checkSigV4(r, body, tc.region, tc.service)
			}
			c, err := Open(ctx, Config{Catalog: "rest+" + srv.URL + "/iceberg?sigv4=" + tc.param, Warehouse: wh})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Ensure(ctx, StreamDef(clean.TablePin, false)); err != nil { // GETs and POSTs with a body
				t.Fatal(err)
			}
			if signed < 4 {
				t.Errorf("%d requests, want config, namespace, load and create", signed)
			}
		})
	}
}

// glueFake is the AWS Glue JSON API (AWSGlue.* targets) over in-memory
// databases and tables, checking every request's signature.
type glueFake struct {
	t    *testing.T
	deny map[string]bool // operations answered AccessDeniedException

	mu      sync.Mutex
	calls   []glueCall
	dbs     map[string]map[string]any
	tables  map[string]map[string]any // by database.table
	version int
}

type glueCall struct {
	op string
	in map[string]any
}

func newGlueFake(t *testing.T) *glueFake {
	f := &glueFake{t: t, deny: map[string]bool{}, dbs: map[string]map[string]any{}, tables: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_GLUE", srv.URL)
	return f
}

func glueError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "Message": msg})
}

func (f *glueFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := checkSigV4(r, body, testRegion, "glue"); err != nil {
		f.t.Errorf("Glue request: %v", err)
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSGlue.")
	var in map[string]any
	if err := json.Unmarshal(body, &in); !ok || r.Method != http.MethodPost || err != nil {
		f.t.Errorf("Glue request %s %s %s: %v", r.Method, r.Header.Get("X-Amz-Target"), body, err)
		glueError(w, "InvalidInputException", "bad request")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, glueCall{op, in})
	if f.deny[op] {
		glueError(w, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/test is not authorized to perform: glue:"+op)
		return
	}
	str := func(v any) string { s, _ := v.(string); return s }
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op {
	case "CreateDatabase":
		db, _ := in["DatabaseInput"].(map[string]any)
		name := str(db["Name"])
		if f.dbs[name] != nil {
			glueError(w, "AlreadyExistsException", "Database already exists.")
			return
		}
		f.dbs[name] = db
		io.WriteString(w, "{}")
	case "GetDatabase":
		db := f.dbs[str(in["Name"])]
		if db == nil {
			glueError(w, "EntityNotFoundException", "Database not found.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Database": db})
	case "GetTable":
		tbl := f.tables[str(in["DatabaseName"])+"."+str(in["Name"])]
		if tbl == nil {
			glueError(w, "EntityNotFoundException", "Table not found.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Table": tbl})
	case "CreateTable", "UpdateTable":
		ti, _ := in["TableInput"].(map[string]any)
		key := str(in["DatabaseName"]) + "." + str(ti["Name"])
		cur := f.tables[key]
		switch {
		case f.dbs[str(in["DatabaseName"])] == nil:
			glueError(w, "EntityNotFoundException", "Database not found.")
			return
		case op == "CreateTable" && cur != nil:
			glueError(w, "AlreadyExistsException", "Table already exists.")
			return
		case op == "UpdateTable" && cur == nil:
			glueError(w, "EntityNotFoundException", "Table not found.")
			return
		case op == "UpdateTable" && in["VersionId"] != cur["VersionId"]:
			glueError(w, "ConcurrentModificationException", "Update table failed due to concurrent modifications.")
			return
		}
		tbl := maps.Clone(ti)
		f.version++
		tbl["DatabaseName"], tbl["VersionId"] = in["DatabaseName"], strconv.Itoa(f.version)
		f.tables[key] = tbl
		io.WriteString(w, "{}")
	default:
		f.t.Errorf("Glue operation %s: not faked", op)
		glueError(w, "InvalidInputException", "not faked")
	}
}

// ops returns the operations called, in order.
func (f *glueFake) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ops []string
	for _, c := range f.calls {
		ops = append(ops, c.op)
	}
	return ops
}

// last returns the input of the last call of op.
func (f *glueFake) last(op string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].op == op {
			return f.calls[i].in
		}
	}
	return nil
}

// TestGlueCatalog: a Glue catalog with a catalog id creates the database
// and tables, commits and loads them, through the Glue API at the standard
// AWS configuration's endpoint, region and credentials.
func TestGlueCatalog(t *testing.T) {
	isolateAWS(t)
	f := newGlueFake(t)
	ctx := t.Context()
	wh := filepath.Join(t.TempDir(), "wh")
	c, err := Open(ctx, Config{Catalog: "glue://123456789012", Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if db, _ := f.last("CreateDatabase")["DatabaseInput"].(map[string]any); db["Name"] != DefaultNamespace {
		t.Errorf("CreateDatabase %v, want the database %s", f.last("CreateDatabase"), DefaultNamespace)
	}

	def := StreamDef(clean.TablePin, false)
	tbl, err := c.Ensure(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	in := f.last("CreateTable")
	if in == nil {
		t.Fatalf("no CreateTable: %v", f.ops())
	}
	ti, _ := in["TableInput"].(map[string]any)
	params, _ := ti["Parameters"].(map[string]any)
	metaLoc, _ := params["metadata_location"].(string)
	tableDir := "file://" + filepath.ToSlash(wh) + "/" + DefaultNamespace + ".db/" + def.Name
	if in["DatabaseName"] != DefaultNamespace || ti["Name"] != def.Name || ti["TableType"] != "EXTERNAL_TABLE" ||
		params["table_type"] != "ICEBERG" || !strings.HasPrefix(metaLoc, tableDir+"/metadata/") ||
		params[SchemaVersionKey] != SchemaVersion {
		t.Errorf("CreateTable %v: want table %s.%s, EXTERNAL_TABLE, ICEBERG, metadata in %s", in, DefaultNamespace, def.Name, tableDir)
	}
	// The Glue columns are the schema's, with its field ids.
	schema, _ := def.Schema()
	sd, _ := ti["StorageDescriptor"].(map[string]any)
	cols, _ := sd["Columns"].([]any)
	if len(cols) != len(schema.Fields()) {
		t.Errorf("%d Glue columns, want %d", len(cols), len(schema.Fields()))
	}
	for i, col := range cols {
		if i >= len(schema.Fields()) {
			break
		}
		m, _ := col.(map[string]any)
		p, _ := m["Parameters"].(map[string]any)
		if f := schema.Field(i); m["Name"] != f.Name || p["iceberg.field.id"] != strconv.Itoa(f.ID) {
			t.Errorf("Glue column %d: %v, want %s with field id %d", i, m, f.Name, f.ID)
		}
	}
	// The metadata file, written by pinpipe to the warehouse.
	if tbl.Iceberg().MetadataLocation() != metaLoc {
		t.Errorf("table metadata %s, Glue's %s", tbl.Iceberg().MetadataLocation(), metaLoc)
	}
	if _, err := os.Stat(strings.TrimPrefix(metaLoc, "file://")); err != nil {
		t.Errorf("metadata file: %v", err)
	}
	if v := tbl.Iceberg().Metadata().Version(); v != 2 {
		t.Errorf("format version %d, want 2", v)
	}
	if spec := tbl.Iceberg().Spec(); spec.NumFields() != 1 || spec.Field(0).Name != parquetio.ColDT || spec.Field(0).FieldID != partitionFieldID {
		t.Errorf("partition spec %v, want identity(dt)", spec)
	}

	// A commit updates the Glue table at the version it loaded.
	f1 := writePins(t, tbl, "2026-12-01", "a.parquet", pins(0, 3))
	if err := tbl.Commit(ctx, Change{Add: []File{f1}, Properties: iceberg.Properties{"pinpipe.test": "1"}}); err != nil {
		t.Fatal(err)
	}
	up := f.last("UpdateTable")
	if up == nil {
		t.Fatalf("no UpdateTable: %v", f.ops())
	}
	upParams, _ := up["TableInput"].(map[string]any)["Parameters"].(map[string]any)
	if up["VersionId"] != "1" || upParams["previous_metadata_location"] != metaLoc || upParams["metadata_location"] == metaLoc ||
		upParams["pinpipe.test"] != "1" {
		t.Errorf("UpdateTable %v: want version 1, the new metadata after %s, the property", up, metaLoc)
	}
	again, err := c.Ensure(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	if got := readInds(t, c, again); !slices.Equal(got, []int64{0, 1, 2}) {
		t.Errorf("inds %v", got)
	}

	// Every request names the catalog id.
	for _, call := range f.calls {
		if call.in["CatalogId"] != "123456789012" {
			t.Errorf("%s %v: CatalogId %v, want 123456789012", call.op, call.in, call.in["CatalogId"])
		}
	}
}

// TestGlueCatalogDefaultID: glue:// leaves the catalog id to Glue (the
// account's).
func TestGlueCatalogDefaultID(t *testing.T) {
	isolateAWS(t)
	f := newGlueFake(t)
	c, err := Open(t.Context(), Config{Catalog: "glue://", Warehouse: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if in := f.last("CreateDatabase"); in == nil || in["CatalogId"] != nil {
		t.Errorf("CreateDatabase %v: want no CatalogId", in)
	}
}

// TestGlueCatalogDenied: a Glue error is an error naming the catalog and
// Glue's reason.
func TestGlueCatalogDenied(t *testing.T) {
	isolateAWS(t)
	f := newGlueFake(t)
	ctx := t.Context()
	wh := t.TempDir()
	f.deny["CreateDatabase"] = true
	_, err := Open(ctx, Config{Catalog: "glue://123456789012", Warehouse: wh})
	if err == nil || !strings.Contains(err.Error(), "catalog glue://123456789012: creating namespace pinpipe") ||
		!strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("Open with CreateDatabase denied: %v", err)
	}
	f.deny["CreateDatabase"] = false
	f.deny["GetTable"] = true
	c, err := Open(ctx, Config{Catalog: "glue://123456789012", Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Ensure(ctx, CleanDef(clean.TablePin))
	if err == nil || !strings.Contains(err.Error(), "catalog glue://123456789012: table pinpipe.pin") ||
		!strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("Ensure with GetTable denied: %v", err)
	}
	if n := strings.Count(strings.Join(f.ops(), " "), "GetTable"); n != 1 {
		t.Errorf("GetTable called %d times: an access denial is not retried", n)
	}
}

// TestCatalogURLs: the catalog URLs Validate accepts and refuses (more than
// TestConfigValidate), with no secret in the messages.
func TestCatalogURLs(t *testing.T) {
	for _, tc := range []struct {
		catalog, warehouse string
		want               string // "" for valid
	}{
		{"sqlite:///abs/c.db", "/w", ""},
		{"postgres://u:s3cr3t@h:5432/db?sslmode=disable", "s3://b/p", ""},
		{"glue://", "s3://b/p", ""},
		{"glue://123456789012", "s3://b/p", ""},
		{"rest+https://h/api?warehouse=w&credential=id:s3cr3t&scope=PRINCIPAL_ROLE:ALL&token=s3cr3t&prefix=p&sigv4=us-east-1/s3tables", "", ""},
		{"rest+http://localhost:8181", "/w", ""},

		{"sqlite://u:s3cr3t@h/c.db", "/w", "absolute path"},
		{"postgres:///db", "/w", "want postgres://user@host"},
		{"postgres://u:s3cr%zz@h/db", "/w", "not a valid URL"},
		{"postgres://u:s3cr3t@h:port/db", "/w", "not a valid URL"},
		{"rest+https://h:99999x/api?token=s3cr3t", "", "invalid port"},
		{"glue://123456789012", "", "warehouse is required"},
		{"glue://123456789012?region=eu-west-1", "/w", "takes no parameters"},
		{"glue:123456789012", "/w", "want glue://"},
		{"glue://123456789012/x", "/w", "want glue://"},
		{"rest+https:///api", "", "want rest+https://host/path"},
		{"rest+https://h/api?tokn=s3cr3t", "", `unknown parameter "tokn"`},
		{"rest+https://h/api?credential=id:s3cr3t&Prefix=p", "", `unknown parameter "Prefix"`},
		{"https://h/api", "", `unsupported scheme "https"`},
		{"rest://h/api", "", `unsupported scheme "rest"`},
	} {
		err := Config{Catalog: tc.catalog, Warehouse: tc.warehouse}.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.catalog, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.catalog, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%s: the error shows a secret: %v", tc.catalog, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://u:s3cr3t@h:5432/db":                       "postgres://u:xxxxx@h:5432/db",
		"postgres://u@h/db":                                   "postgres://u@h/db",
		"rest+https://h/api?token=s3cr3t&prefix=p":            "rest+https://h/api?prefix=p&token=xxxxx",
		"rest+https://h/api?credential=id:s3cr3t&warehouse=w": "rest+https://h/api?credential=xxxxx&warehouse=w",
		"glue://123456789012":                                 "glue://123456789012",
		"postgres://u:s3cr%zz@h/db":                           "(unparseable URL)",
	} {
		if got := redact(raw); got != want {
			t.Errorf("redact(%s) = %s, want %s", raw, got, want)
		}
	}
}
