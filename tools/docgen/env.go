package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// module is the import path of this repository's module.
const module = "github.com/pinpipe/pinpipe"

// EnvVar is one environment variable a binary reads.
type EnvVar struct {
	Name    string
	Meaning string
	Where   []string // packages (import paths relative to the module) reading it
}

// awsVars are the standard AWS configuration variables most used with
// pinpipe, read by config.LoadDefaultConfig (the full list is the AWS SDK's).
var awsVars = []EnvVar{
	{Name: "AWS_REGION", Meaning: "AWS region (standard AWS configuration; also AWS_DEFAULT_REGION, or the profile's)"},
	{Name: "AWS_ACCESS_KEY_ID", Meaning: "access key (standard AWS configuration; else profile, SSO, web identity, ECS or EC2 instance role)"},
	{Name: "AWS_SECRET_ACCESS_KEY", Meaning: "secret key of AWS_ACCESS_KEY_ID"},
	{Name: "AWS_SESSION_TOKEN", Meaning: "session token of temporary credentials"},
	{Name: "AWS_PROFILE", Meaning: "profile of ~/.aws/config and ~/.aws/credentials"},
	{Name: "AWS_ENDPOINT_URL", Meaning: "endpoint of every AWS service (an S3- or Kinesis-compatible server)"},
}

// serviceVars are the per-service endpoint variables, by the SDK package that
// makes a binary read them.
var serviceVars = map[string]EnvVar{
	"github.com/aws/aws-sdk-go-v2/service/s3":      {Name: "AWS_ENDPOINT_URL_S3", Meaning: "S3 endpoint (an S3-compatible server such as MinIO or versitygw); path-style addressing is used with a custom endpoint"},
	"github.com/aws/aws-sdk-go-v2/service/kinesis": {Name: "AWS_ENDPOINT_URL_KINESIS", Meaning: "Kinesis endpoint (a Kinesis-compatible server such as kinesalite or LocalStack)"},
}

// knownMeanings explain variables read by name (not through a documented
// constant).
var knownMeanings = map[string]string{
	"PINPIPE_KAFKA_BROKERS": "default of --brokers: Kafka bootstrap brokers, HOST:PORT[,HOST:PORT]",
	"PINPIPE_MYSQL_DSN":     "source MySQL DSN when --dsn is not given (go-sql-driver syntax)",
	"PINPIPE_CATALOG":       "default of --catalog: the Iceberg catalog URL",
	"PINPIPE_WAREHOUSE":     "default of --warehouse: where the tables' files go",
	"PINPIPE_NAMESPACE":     "default of --namespace (else pinpipe)",
	"BATCHJOB_CPUPROFILE":   "write a CPU profile of the run to this file (benchmarks)",
	"BATCHJOB_MEMPROFILE":   "write a heap profile at the end of the run to this file (benchmarks)",
	"BATCHJOB_TRACE":        "write an execution trace of the run to this file (where it waited: `go tool trace -pprof=sync|syscall|sched`)",
	"GOMEMLIMIT":            "the Go runtime's soft memory limit; wins over --memory-limit-mib",
}

// pkgInfo is what `go list -deps` says of one package.
type pkgInfo struct {
	ImportPath, Dir, Module string
}

// deps lists the packages a main package depends on, itself included.
func deps(ctx context.Context, root, pkg string) ([]pkgInfo, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{with .Module}}{{.Path}}{{end}}", pkg)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w: %s", pkg, err, stderr.String())
	}
	var infos []pkgInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) == 3 {
			infos = append(infos, pkgInfo{ImportPath: parts[0], Dir: parts[1], Module: parts[2]})
		}
	}
	return infos, sc.Err()
}

// constant is a string constant of the module, with its doc comment.
type constant struct {
	value, doc string
}

// envReader finds the environment variables read by the module's packages.
type envReader struct {
	fset   *token.FileSet
	consts map[string]constant  // "importpath.Name" -> value
	files  map[string][]fileAST // by import path
}

type fileAST struct {
	file    *ast.File
	imports map[string]string // local name -> import path
}

func newEnvReader() *envReader {
	return &envReader{fset: token.NewFileSet(), consts: map[string]constant{}, files: map[string][]fileAST{}}
}

// load parses the non-test Go files of the package at dir once.
func (r *envReader) load(importPath, dir string) error {
	if _, ok := r.files[importPath]; ok {
		return nil
	}
	r.files[importPath] = nil
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(r.fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fa := fileAST{file: f, imports: map[string]string{}}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			local := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			fa.imports[local] = p
		}
		r.files[importPath] = append(r.files[importPath], fa)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					doc := vs.Doc.Text()
					if doc == "" && len(gd.Specs) == 1 {
						doc = gd.Doc.Text()
					}
					if doc == "" {
						doc = vs.Comment.Text()
					}
					r.consts[importPath+"."+n.Name] = constant{value: v, doc: strings.Join(strings.Fields(doc), " ")}
				}
			}
		}
	}
	return nil
}

// readers are the names of functions (or func-typed fields) that look up
// an environment variable by its first argument.
var readers = map[string]bool{"Getenv": true, "LookupEnv": true, "getenv": true, "lookupEnv": true}

// vars returns the variables read in the package importPath (loaded
// already), with the doc comment of the constant naming each, if any.
func (r *envReader) vars(importPath string) map[string]string {
	out := map[string]string{}
	for _, fa := range r.files[importPath] {
		ast.Inspect(fa.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var fn string
			switch f := call.Fun.(type) {
			case *ast.Ident:
				fn = f.Name
			case *ast.SelectorExpr:
				fn = f.Sel.Name
			}
			if !readers[fn] {
				return true
			}
			switch a := call.Args[0].(type) {
			case *ast.BasicLit:
				if v, err := strconv.Unquote(a.Value); err == nil && a.Kind == token.STRING {
					out[v] = out[v] + ""
				}
			case *ast.Ident:
				if c, ok := r.consts[importPath+"."+a.Name]; ok {
					out[c.value] = c.doc
				}
			case *ast.SelectorExpr:
				if x, ok := a.X.(*ast.Ident); ok {
					if c, ok := r.consts[fa.imports[x.Name]+"."+a.Sel.Name]; ok {
						out[c.value] = c.doc
					}
				}
			}
			return true
		})
	}
	return out
}

// envVars returns the environment variables the binary built from pkg reads:
// those its module packages look up, and the standard AWS ones when it loads
// the AWS configuration.
func envVars(ctx context.Context, root, pkg string) ([]EnvVar, error) {
	infos, err := deps(ctx, root, pkg)
	if err != nil {
		return nil, err
	}
	r := newEnvReader()
	for _, in := range infos {
		if in.Module == module {
			if err := r.load(in.ImportPath, in.Dir); err != nil {
				return nil, err
			}
		}
	}
	byName := map[string]*EnvVar{}
	var names []string
	for _, in := range infos {
		if in.Module != module {
			continue
		}
		for name, doc := range r.vars(in.ImportPath) {
			v := byName[name]
			if v == nil {
				v = &EnvVar{Name: name, Meaning: knownMeanings[name]}
				byName[name] = v
				names = append(names, name)
			}
			if v.Meaning == "" {
				v.Meaning = doc
			}
			v.Where = append(v.Where, strings.TrimPrefix(strings.TrimPrefix(in.ImportPath, module), "/"))
		}
	}
	slices.Sort(names)
	var out []EnvVar
	for _, n := range names {
		v := byName[n]
		slices.Sort(v.Where)
		v.Where = slices.Compact(v.Where)
		out = append(out, *v)
	}
	usesAWS := false
	var services []EnvVar
	for _, in := range infos {
		if in.ImportPath == "github.com/aws/aws-sdk-go-v2/config" {
			usesAWS = true
		}
		if v, ok := serviceVars[in.ImportPath]; ok {
			services = append(services, v)
		}
	}
	if usesAWS {
		out = append(out, awsVars...)
		slices.SortFunc(services, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, services...)
	}
	return out, nil
}
