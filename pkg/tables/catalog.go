package tables

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/pinpipe/pinpipe/internal/retry"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// DefaultNamespace is the namespace of the tables unless configured.
const DefaultNamespace = "pinpipe"

// catalogName is the catalog's name in the SQL catalog's rows.
const catalogName = "pinpipe"

// Config configures Open.
type Config struct {
	// Catalog is the catalog URL (tables.md §1): sqlite:///abs/path/catalog.db
	// (embedded, one host), postgres://user@host:5432/db (shared),
	// glue://[catalog-id] (AWS Glue, with the standard AWS configuration) or
	// rest+https://host/path (the Iceberg REST protocol: S3 Tables, Unity
	// Catalog, Polaris; rest+http:// too), with the parameters warehouse=,
	// credential=id:secret, scope=, token=, prefix= and sigv4=region/service
	// (restParams). Required.
	Catalog string
	// Warehouse is where data and metadata files go: s3://bucket/prefix,
	// file:///abs/dir or a path. Required, except for a REST catalog that
	// names its own.
	Warehouse string
	// Namespace of the tables. Default: DefaultNamespace.
	Namespace string
	// Store configures the warehouse's object store.
	Store objstore.Options
	// Logger. Default: nil, silent.
	Logger *slog.Logger
	// WarehouseStore, for tests, is the store of the warehouse's files (a
	// wrapper that injects faults): the Warehouse URL still names them.
	// Default: opened from Warehouse.
	WarehouseStore objstore.Bucket
	// CommitHook, for tests, runs every catalog commit of a table (named
	// namespace.table): commit performs it. Default: none.
	CommitHook func(table string, commit func() error) error
}

// Validate reports a configuration that cannot work. It does no I/O.
func (c Config) Validate() error {
	if c.Catalog == "" {
		return errors.New("no catalog: want sqlite:///abs/path/catalog.db, postgres://user@host:5432/db, glue:// or rest+https://host/path")
	}
	kind, _, err := parseCatalogURL(c.Catalog)
	if err != nil {
		return err
	}
	if c.Warehouse == "" && kind != "rest" {
		return fmt.Errorf("catalog %s: a warehouse is required (s3://bucket/prefix or a directory)", redact(c.Catalog))
	}
	if strings.ContainsAny(c.Namespace, "./") {
		return fmt.Errorf("namespace %q: want a name without '.' or '/'", c.Namespace)
	}
	return c.Store.Validate()
}

// Catalog is the Iceberg catalog of pinpipe's tables, in one namespace.
type Catalog struct {
	cat       catalog.Catalog
	namespace table.Identifier
	warehouse string
	store     objstore.Bucket // the warehouse
	io        *warehouseIO
	db        *sql.DB // SQL catalogs: closed by Close
	hook      func(table string, commit func() error) error
	log       *slog.Logger
	desc      string // the catalog URL without secrets, for messages
}

// Open opens the catalog, and creates the namespace when it is missing. It
// does not create tables: Ensure does.
func Open(ctx context.Context, cfg Config) (*Catalog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	registerIO()
	c := &Catalog{namespace: table.Identifier{cfg.Namespace}, log: cfg.Logger, desc: redact(cfg.Catalog), hook: cfg.CommitHook}
	props := iceberg.Properties{}
	if cfg.Warehouse != "" {
		wh, err := warehouseURL(cfg.Warehouse)
		if err != nil {
			return nil, err
		}
		b := cfg.WarehouseStore
		if b == nil {
			if b, err = objstore.Open(ctx, wh, cfg.Store); err != nil {
				return nil, fmt.Errorf("warehouse: %w", err)
			}
		}
		c.warehouse, c.store = wh, b
		c.io = addWarehouse(wh, b, cfg.Store)
		props["warehouse"] = wh
		props[ioPropKey] = c.io.id
	} else {
		c.io = addWarehouse("", nil, cfg.Store)
		props[ioPropKey] = c.io.id
	}
	// Jobs starting at once on a new catalog race to create its tables and
	// the namespace: the loser of such a race tries again (and then finds
	// them made).
	err := retry.Do(ctx, initRetry, func(ctx context.Context) error {
		if c.cat == nil {
			if err := c.openCatalog(ctx, cfg.Catalog, props); err != nil {
				return initRace(err)
			}
		}
		if err := c.cat.CreateNamespace(ctx, c.namespace, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			return initRace(fmt.Errorf("catalog %s: creating namespace %s: %w", c.desc, cfg.Namespace, err))
		}
		return nil
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// warehouseURL returns the warehouse as a URL (a path becomes file:///abs).
func warehouseURL(w string) (string, error) {
	if strings.Contains(w, "://") {
		if !strings.HasPrefix(w, "s3://") && !strings.HasPrefix(w, "file:///") {
			return "", fmt.Errorf("warehouse %q: want s3://bucket/prefix, file:///abs/dir or a path", w)
		}
		return strings.TrimSuffix(w, "/"), nil
	}
	abs, err := filepath.Abs(w)
	if err != nil {
		return "", fmt.Errorf("warehouse %q: %w", w, err)
	}
	return "file://" + filepath.ToSlash(abs), nil
}

// parseCatalogURL returns the kind of a catalog URL: sqlite, postgres, glue
// or rest.
func parseCatalogURL(raw string) (kind string, u *url.URL, err error) {
	u, err = url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the URL, password included: keep only
		// its reason, and not even that when the URL has a user part (the
		// reason quotes a piece of it: an invalid escape, a port).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(raw, "@") {
			err = errors.New("not a valid URL (percent-encode the special characters of its user and password)")
		}
		return "", nil, fmt.Errorf("catalog URL %q: %w", redact(raw), err)
	}
	switch u.Scheme {
	case "sqlite":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return "", nil, fmt.Errorf("catalog URL %q: want sqlite:///abs/path/catalog.db (an absolute path)", redact(raw))
		}
		return "sqlite", u, nil
	case "postgres", "postgresql":
		if u.Host == "" {
			return "", nil, fmt.Errorf("catalog URL %q: want postgres://user@host:5432/db", redact(raw))
		}
		return "postgres", u, nil
	case "glue":
		if u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") {
			return "", nil, fmt.Errorf("catalog URL %q: want glue:// or glue://catalog-id", redact(raw))
		}
		if u.RawQuery != "" {
			return "", nil, fmt.Errorf("catalog URL %q: glue:// takes no parameters (the region and credentials are the standard AWS configuration's)", withoutQuery(u))
		}
		return "glue", u, nil
	case "rest+http", "rest+https":
		if u.Host == "" {
			return "", nil, fmt.Errorf("catalog URL %q: want rest+https://host/path", redact(raw))
		}
		for k := range u.Query() {
			if !slices.Contains(restParams, k) {
				return "", nil, fmt.Errorf("catalog URL %q: unknown parameter %q (want %s)", withoutQuery(u), k, strings.Join(restParams, ", "))
			}
		}
		return "rest", u, nil
	}
	return "", nil, fmt.Errorf("catalog URL %q: unsupported scheme %q (want sqlite, postgres, glue, rest+http or rest+https)", redact(raw), u.Scheme)
}

// restParams are the parameters of a REST catalog URL.
var restParams = []string{"warehouse", "credential", "token", "scope", "prefix", "sigv4"}

// withoutQuery is u without its parameters (an unknown one may be a
// misspelt secret) nor password.
func withoutQuery(u *url.URL) string {
	v := *u
	v.RawQuery = ""
	return redact(v.String())
}

// redact hides a URL's password and credential parameters.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for _, k := range []string{"credential", "token", "password"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Catalog) openCatalog(ctx context.Context, raw string, props iceberg.Properties) error {
	kind, u, err := parseCatalogURL(raw)
	if err != nil {
		return err
	}
	switch kind {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(u.Path), 0o755); err != nil {
			return fmt.Errorf("catalog %s: %w", c.desc, err)
		}
		// WAL lets readers go on while a commit writes; busy_timeout makes
		// concurrent writers (other processes of the host) wait their turn;
		// synchronous FULL makes a commit survive a power loss.
		dsn := u.Path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
		return c.openSQL(ctx, "sqlite", dsn, sqlcat.SQLite, props)
	case "postgres":
		return c.openSQL(ctx, "pgx", raw, sqlcat.Postgres, props)
	case "glue":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("catalog %s: loading AWS configuration: %w", c.desc, err)
		}
		ap := glue.AwsProperties{}
		for k, v := range props {
			ap[k] = v
		}
		if id := u.Host; id != "" {
			ap[glue.CatalogIdKey] = id
		}
		cat, err := glue.NewCatalog(glue.WithAwsConfig(awsCfg), glue.WithAwsProperties(ap))
		if err != nil {
			return fmt.Errorf("catalog %s: %w", c.desc, err)
		}
		c.cat = cat
		return nil
	case "rest":
		q := u.Query()
		opts := []rest.Option{rest.WithAdditionalProps(props)}
		if w := props["warehouse"]; w != "" {
			opts = append(opts, rest.WithWarehouseLocation(w))
		}
		if w := q.Get("warehouse"); w != "" { // a catalog-side warehouse name (S3 Tables ARN, Polaris catalog)
			opts = append(opts, rest.WithWarehouseLocation(w))
		}
		if v := q.Get("credential"); v != "" {
			opts = append(opts, rest.WithCredential(v))
		}
		if v := q.Get("scope"); v != "" { // the OAuth scope of credential (Polaris: PRINCIPAL_ROLE:ALL); default "catalog"
			opts = append(opts, rest.WithScope(v))
		}
		if v := q.Get("token"); v != "" {
			opts = append(opts, rest.WithOAuthToken(v))
		}
		if v := q.Get("prefix"); v != "" {
			opts = append(opts, rest.WithPrefix(v))
		}
		if v := q.Get("sigv4"); v != "" { // AWS SigV4 signing: sigv4=region/service (S3 Tables, Glue's REST endpoint)
			region, service, _ := strings.Cut(v, "/")
			opts = append(opts, rest.WithSigV4RegionSvc(region, service))
		}
		endpoint := *u
		endpoint.Scheme = strings.TrimPrefix(u.Scheme, "rest+")
		endpoint.RawQuery = ""
		cat, err := rest.NewCatalog(ctx, catalogName, endpoint.String(), opts...)
		if err != nil {
			return fmt.Errorf("catalog %s: %w", c.desc, err)
		}
		c.cat = cat
		return nil
	}
	return fmt.Errorf("catalog %s: unsupported", c.desc)
}

// initRetry bounds the retries of a catalog's initialisation races.
var initRetry = retry.Policy{Initial: 50 * time.Millisecond, Max: time.Second, MaxAttempts: 8, Jitter: retry.FullJitter}

// initRace returns err, marked permanent unless it is a race between
// writers creating the same thing at once: SQLite busy (a database file
// being set up by another process), or in PostgreSQL a unique violation
// or a duplicate table or object (CREATE TABLE IF NOT EXISTS run twice at
// once: which of the two a loser gets depends on the moment), or a
// serialization failure or deadlock.
func initRace(err error) error {
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &pg) && slices.Contains([]string{"23505", "42P07", "42710", "40001", "40P01"}, pg.Code):
		return err
	case strings.Contains(err.Error(), "SQLITE_BUSY"), strings.Contains(err.Error(), "database is locked"):
		return err
	}
	return retry.Permanent(err)
}

func (c *Catalog) openSQL(ctx context.Context, driver, dsn string, dialect sqlcat.SupportedDialect, props iceberg.Properties) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return fmt.Errorf("catalog %s: %w", c.desc, err)
	}
	if driver == "sqlite" {
		db.SetMaxOpenConns(1) // one connection: SQLite serialises writers anyway
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("catalog %s is not reachable: %w", c.desc, err)
	}
	cat, err := sqlcat.NewCatalog(catalogName, db, dialect, props)
	if err != nil {
		db.Close()
		return fmt.Errorf("catalog %s: %w", c.desc, err)
	}
	c.cat, c.db = cat, db
	return nil
}

// Close releases the catalog's connections.
func (c *Catalog) Close() error {
	var err error
	if cl, ok := c.cat.(interface{ Close() error }); ok {
		err = cl.Close()
	}
	if c.db != nil {
		err = errors.Join(err, c.db.Close())
	}
	if c.io != nil {
		c.io.close()
	}
	return err
}

// Namespace returns the tables' namespace.
func (c *Catalog) Namespace() string { return c.namespace[0] }

// String describes the catalog (its URL without secrets).
func (c *Catalog) String() string { return c.desc }

// Ident returns the identifier of table name.
func (c *Catalog) Ident(name string) table.Identifier {
	return append(table.Identifier{}, append(c.namespace, name)...)
}

// Iceberg returns the iceberg-go catalog, for tools and tests.
func (c *Catalog) Iceberg() catalog.Catalog { return c.cat }
