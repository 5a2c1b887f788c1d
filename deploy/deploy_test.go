// Package deploy holds the deployment files: Kubernetes manifests (k8s/),
// systemd units (systemd/) and the Amazon MWAA startup script (mwaa/). Its
// tests check that every binary, flag and environment variable the files use
// exists, that probes and grace periods match what the binaries do, and run
// the MWAA startup script against the local S3.
package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pinpipe/pinpipe/internal/devstack"
	"github.com/pinpipe/pinpipe/pkg/objstore"
)

// binaryDocs are the flags and environment variables of each binary, as the
// README's generated reference lists them (tools/docgen builds them from the
// binaries' flag sets; its TestReadmeUpToDate keeps the README in step).
type binaryDocs struct {
	flags map[string]string // name (without dashes) -> type
	env   map[string]bool
}

func readReference(t *testing.T) map[string]*binaryDocs {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := map[string]*binaryDocs{}
	var cur *binaryDocs
	heading := regexp.MustCompile("^### `([a-z0-9]+)[ `]")
	envHeading := regexp.MustCompile("^Environment variables read by `([a-z0-9]+)`")
	flagRow := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\| ([a-z0-9]+) \\|")
	envRow := regexp.MustCompile("^\\| `([A-Z0-9_]+)` \\|")
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := heading.FindStringSubmatch(line); m != nil {
			if docs[m[1]] == nil {
				docs[m[1]] = &binaryDocs{flags: map[string]string{}, env: map[string]bool{}}
			}
			cur = docs[m[1]]
			continue
		}
		if m := envHeading.FindStringSubmatch(line); m != nil {
			cur = docs[m[1]]
			continue
		}
		if strings.HasPrefix(line, "## ") {
			cur = nil
		}
		if cur == nil {
			continue
		}
		if m := flagRow.FindStringSubmatch(line); m != nil {
			cur.flags[m[1]] = m[2]
		} else if m := envRow.FindStringSubmatch(line); m != nil {
			cur.env[m[1]] = true
		}
	}
	for _, b := range []string{"batchjob", "emit", "gateway", "s3sink", "streamjob"} {
		if d := docs[b]; d == nil || len(d.flags) == 0 {
			t.Fatalf("README has no flag reference of %s", b)
		}
	}
	return docs
}

// checkArgv checks that argv runs a pinpipe binary from /usr/local/bin with
// flags it has, and returns the binary and its flags' values.
func checkArgv(t *testing.T, docs map[string]*binaryDocs, where string, argv []string) (string, map[string]string) {
	t.Helper()
	if len(argv) == 0 || !strings.HasPrefix(argv[0], "/usr/local/bin/") {
		t.Errorf("%s: runs %q, want a binary of /usr/local/bin", where, argv)
		return "", nil
	}
	bin := strings.TrimPrefix(argv[0], "/usr/local/bin/")
	d := docs[bin]
	if d == nil {
		t.Errorf("%s: %s is not a pinpipe binary", where, argv[0])
		return "", nil
	}
	vals := map[string]string{}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: argument %q of %s is not a flag", where, a, bin)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		typ, ok := d.flags[name]
		if !ok {
			t.Errorf("%s: %s has no flag --%s", where, bin, name)
			continue
		}
		if !hasVal && typ != "bool" {
			if i+1 >= len(argv) {
				t.Errorf("%s: --%s of %s has no value", where, name, bin)
				continue
			}
			i++
			val = argv[i]
		}
		vals[name] = val
	}
	return bin, vals
}

// argVar is a variable a container's args use, $(NAME); unitVar one a
// systemd unit's ExecStart uses, ${NAME}.
var (
	argVar  = regexp.MustCompile(`\$\(([A-Z0-9_]+)\)`)
	unitVar = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)
)

// checkEnv checks that an environment variable a file sets is one the
// binary reads, the standard AWS configuration's, or one its arguments use
// ($(NAME) in args, in used).
func checkEnv(t *testing.T, docs map[string]*binaryDocs, where, bin, name string, used map[string]bool) {
	t.Helper()
	if bin == "" || strings.HasPrefix(name, "AWS_") || used[name] {
		return
	}
	if !docs[bin].env[name] {
		t.Errorf("%s: %s does not read %s", where, bin, name)
	}
}

type container struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
		RunAsUser    int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
}

type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec struct {
				Template struct {
					Spec podSpec `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

// minGrace is the least termination grace period of each long-running
// binary: its shutdown bound (streamjob 8 s; s3sink 30 s of final stores and
// commits, then the lease of unanswered requests, the 10 s session timeout;
// gateway's --drain-timeout, 30 s) with room to spare.
var minGrace = map[string]int{"streamjob": 30, "s3sink": 50, "batchjob": 60, "gateway": 40}

func TestKubernetesManifests(t *testing.T) {
	docs := readReference(t)
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	seen := map[string]bool{} // kind/name
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			seen[m.Kind+"/"+m.Metadata.Name] = true
			var spec podSpec
			switch m.Kind {
			case "Deployment":
				spec = m.Spec.Template.Spec
				if m.Spec.Template.Metadata.Annotations["prometheus.io/scrape"] != "true" {
					t.Errorf("%s: %s is not scraped", file, m.Metadata.Name)
				}
				if m.Spec.Strategy.Type != "RollingUpdate" {
					t.Errorf("%s: strategy %q; two instances at once are safe, roll", file, m.Spec.Strategy.Type)
				}
			case "CronJob":
				spec = m.Spec.JobTemplate.Spec.Template.Spec
				if m.Spec.ConcurrencyPolicy != "Forbid" {
					t.Errorf("%s: concurrencyPolicy %q, want Forbid: runs build on each other's state", file, m.Spec.ConcurrencyPolicy)
				}
			case "ConfigMap", "Secret", "Service":
				continue
			default:
				t.Errorf("%s: unexpected kind %q", file, m.Kind)
				continue
			}
			if !spec.SecurityContext.RunAsNonRoot || spec.SecurityContext.RunAsUser == 0 {
				t.Errorf("%s: %s may run as root", file, m.Metadata.Name)
			}
			for _, c := range spec.Containers {
				where := file + ": container " + c.Name
				used := map[string]bool{} // the variables the args use as $(NAME)
				for _, a := range c.Args {
					for _, ref := range argVar.FindAllStringSubmatch(a, -1) {
						used[ref[1]] = true
					}
				}
				bin, vals := checkArgv(t, docs, where, append(slices.Clone(c.Command), c.Args...))
				if bin == "" {
					continue
				}
				for _, e := range c.Env {
					checkEnv(t, docs, where, bin, e.Name, used)
				}
				if spec.TerminationGracePeriodSeconds < minGrace[bin] {
					t.Errorf("%s: terminationGracePeriodSeconds %d, want at least %d (the shutdown of %s)", where, spec.TerminationGracePeriodSeconds, minGrace[bin], bin)
				}
				if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
					t.Errorf("%s: no memory request or limit", where)
				}
				if m.Kind != "Deployment" {
					continue
				}
				// The probes reach /healthz on the port --metrics serves.
				_, port, ok := strings.Cut(vals["metrics"], ":")
				if !ok {
					t.Errorf("%s: --metrics %q serves no port", where, vals["metrics"])
					continue
				}
				for _, p := range []*probe{c.ReadinessProbe, c.LivenessProbe} {
					if p == nil || p.HTTPGet.Path != "/healthz" {
						t.Errorf("%s: a probe is missing or not GET /healthz", where)
						continue
					}
					named := false
					for _, cp := range c.Ports {
						if cp.Name == p.HTTPGet.Port && strconv.Itoa(cp.ContainerPort) == port {
							named = true
						}
					}
					if !named {
						t.Errorf("%s: probe port %v is not the --metrics port %s", where, p.HTTPGet.Port, port)
					}
				}
				if m.Spec.Template.Metadata.Annotations["prometheus.io/port"] != port {
					t.Errorf("%s: scraped on port %s, --metrics serves %s", where, m.Spec.Template.Metadata.Annotations["prometheus.io/port"], port)
				}
			}
		}
	}
	for name, kind := range map[string]string{"pinpipe-streamjob": "Deployment", "pinpipe-s3sink": "Deployment", "pinpipe-gateway": "Deployment", "pinpipe-batchjob": "CronJob"} {
		if !seen[kind+"/"+name] {
			t.Errorf("no %s %s in k8s/", kind, name)
		}
	}
}

func TestSystemdUnits(t *testing.T) {
	docs := readReference(t)
	files, err := filepath.Glob("systemd/*.service")
	if err != nil || len(files) == 0 {
		t.Fatalf("no units in systemd/: %v", err)
	}
	envFile, err := os.ReadFile("systemd/pinpipe.env.example")
	if err != nil {
		t.Fatal(err)
	}
	usedByUnits := map[string]bool{} // the variables ExecStart lines use as ${NAME}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]string{}
		section := ""
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			if strings.HasPrefix(line, "[") {
				section = strings.Trim(line, "[]")
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf("%s: %q is not KEY=value", file, line)
				continue
			}
			keys[section+"."+k] = v
		}
		argv := strings.Fields(keys["Service.ExecStart"])
		bin, _ := checkArgv(t, docs, file, argv)
		if bin == "" {
			continue
		}
		for _, a := range argv {
			for _, ref := range unitVar.FindAllStringSubmatch(a, -1) {
				usedByUnits[ref[1]] = true
				if !bytes.Contains(envFile, []byte(ref[1]+"=")) {
					t.Errorf("%s: ExecStart uses ${%s}, which pinpipe.env.example does not set", file, ref[1])
				}
			}
		}
		if keys["Service.User"] == "" || keys["Service.User"] == "root" {
			t.Errorf("%s: runs as %q, want a system user", file, keys["Service.User"])
		}
		stop, err := strconv.Atoi(keys["Service.TimeoutStopSec"])
		if err != nil || stop < minGrace[bin] {
			t.Errorf("%s: TimeoutStopSec %q, want at least %d (the shutdown of %s)", file, keys["Service.TimeoutStopSec"], minGrace[bin], bin)
		}
	}
	for _, line := range strings.Split(string(envFile), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") && !strings.HasPrefix(k, "AWS_") {
			used := usedByUnits[k]
			for _, d := range docs {
				used = used || d.env[k]
			}
			if !used {
				t.Errorf("pinpipe.env.example sets %s, which no unit or binary reads", k)
			}
		}
	}
}

// TestMWAAStartup runs mwaa/startup.sh as MWAA would, with the AWS CLI
// against the local S3: it installs the binary it is pointed at and exports
// PINPIPE_BATCH_BIN, and refuses a binary that does not run.
func TestMWAAStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local S3")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed (MWAA has it)")
	}
	env, put := s3Fixture(t)
	put("good/batchjob", "#!/bin/sh\n[ \"$1\" = -h ] && exit 0\nexit 3\n")
	put("bad/batchjob", "#!/bin/sh\nexit 2\n")
	for _, tc := range []struct {
		key    string
		wantOK bool
	}{{"good/batchjob", true}, {"bad/batchjob", false}} {
		dir := t.TempDir()
		cmd := exec.Command("bash", "-c", `source mwaa/startup.sh && echo "BIN=$PINPIPE_BATCH_BIN"`)
		cmd.Env = append(env(tc.key), "PINPIPE_BIN_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if tc.wantOK {
			want := "BIN=" + filepath.Join(dir, "batchjob")
			if err != nil || !strings.Contains(string(out), want) {
				t.Fatalf("%s: %v\n%s\nwant %s", tc.key, err, out, want)
			}
			if fi, err := os.Stat(filepath.Join(dir, "batchjob")); err != nil || fi.Mode().Perm()&0o111 == 0 {
				t.Errorf("%s: installed binary: %v %v", tc.key, fi, err)
			}
			continue
		}
		if err == nil || !strings.Contains(string(out), "does not run here") {
			t.Errorf("%s: startup succeeded or said nothing useful: %v\n%s", tc.key, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "batchjob")); err == nil {
			t.Errorf("%s: a binary that does not run was installed", tc.key)
		}
	}
}

// s3Fixture gives a new bucket of the local S3: put stores an object in it,
// env returns the environment of the AWS CLI with PINPIPE_BATCHJOB_S3 naming
// key.
func s3Fixture(t *testing.T) (env func(key string) []string, put func(key, body string)) {
	st := devstack.Require(t, devstack.S3)
	bucket := st.NewBucket(t)
	b, err := objstore.Open(t.Context(), "s3://"+bucket, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put = func(key, body string) {
		if err := b.Put(t.Context(), key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	env = func(key string) []string {
		return append(append(os.Environ(), st.Environ()...), "PINPIPE_BATCHJOB_S3=s3://"+bucket+"/"+key)
	}
	return env, put
}
