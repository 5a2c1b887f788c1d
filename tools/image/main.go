// Command image builds pinpipe's OCI image from the static binaries in a
// directory, without a base image and without a container runtime (neither
// can be pulled or run on every build machine), reproducibly: the same
// binaries and the same -epoch give the same image digest.
//
// The image holds the binaries in /usr/local/bin, the Mozilla (NSS) root
// certificates of golang.org/x/crypto/x509roots/fallback as
// /etc/ssl/certs/ca-certificates.crt, an /etc/passwd and /etc/group with the
// non-root user pinpipe (65532), its home as the working directory, and /tmp.
// It runs as that user. It is written twice: as an OCI image layout
// directory (skopeo, crane, podman) and as a tarball for `docker load`.
//
// Usage (make image):
//
//	go run ./tools/image -bin bin -out bin/image -tag pinpipe:dev
package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Binaries are the programs the image holds, in /usr/local/bin.
var Binaries = []string{"batchjob", "emit", "gateway", "s3sink", "streamjob"}

// The image's user.
const (
	UID      = 65532
	User     = "pinpipe"
	Home     = "/home/pinpipe"
	CertFile = "/etc/ssl/certs/ca-certificates.crt"
	BinDir   = "/usr/local/bin"
)

// Config says what to build.
type Config struct {
	Bin   string    // directory holding Binaries
	Out   string    // output directory: Out/oci (OCI layout) and Out/pinpipe.tar (docker load)
	Tag   string    // reference recorded in both, e.g. pinpipe:0a1b2c3
	Epoch time.Time // the time of every file and of the image
	Arch  string    // GOARCH of the binaries
	// Revision is recorded as org.opencontainers.image.revision (empty: not).
	Revision string
}

func main() {
	var cfg Config
	var epoch string
	flag.StringVar(&cfg.Bin, "bin", "bin", "directory holding the static binaries "+strings.Join(Binaries, ", "))
	flag.StringVar(&cfg.Out, "out", "bin/image", "output directory: OUT/oci (OCI image layout) and OUT/pinpipe.tar (docker load)")
	flag.StringVar(&cfg.Tag, "tag", "", "image reference (default pinpipe:<commit>, or pinpipe:dev outside git)")
	flag.StringVar(&epoch, "epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every file and of the image (default $SOURCE_DATE_EPOCH, else the commit's time)")
	flag.StringVar(&cfg.Arch, "arch", runtime.GOARCH, "GOARCH the binaries were built for")
	flag.Parse()
	rev, commitTime := gitHead()
	cfg.Revision = rev
	switch {
	case epoch != "":
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			fatal(fmt.Errorf("-epoch %q: want Unix seconds", epoch))
		}
		cfg.Epoch = time.Unix(sec, 0)
	case !commitTime.IsZero():
		cfg.Epoch = commitTime
	default:
		cfg.Epoch = time.Unix(0, 0)
	}
	if cfg.Tag == "" {
		cfg.Tag = "pinpipe:dev"
		if len(rev) >= 12 {
			cfg.Tag = "pinpipe:" + rev[:12]
		}
	}
	digest, err := Build(cfg)
	if err != nil {
		fatal(err)
	}
	fmt.Printf("image %s %s\n  OCI layout: %s\n  docker load -i %s\n", cfg.Tag, digest,
		filepath.Join(cfg.Out, "oci"), filepath.Join(cfg.Out, "pinpipe.tar"))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}

// gitHead returns the commit checked out and its time, or zero values
// outside a git work tree. A tree with changes gets "-dirty".
func gitHead() (string, time.Time) {
	out, err := exec.Command("git", "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		return "", time.Time{}
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", time.Time{}
	}
	sec, _ := strconv.ParseInt(f[1], 10, 64)
	rev := f[0]
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "-dirty"
	}
	return rev, time.Unix(sec, 0)
}

// Build writes the image and returns its manifest digest.
func Build(cfg Config) (v1.Hash, error) {
	layerTar, err := rootFS(cfg)
	if err != nil {
		return v1.Hash{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching) // compressed once, not for the digest, the layout and the tarball each
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: cfg.Epoch}, CreatedBy: "tools/image", Comment: "pinpipe binaries, CA certificates, user " + User},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return v1.Hash{}, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", cfg.Arch
	cf.Created = v1.Time{Time: cfg.Epoch}
	cf.Config.User = strconv.Itoa(UID) + ":" + strconv.Itoa(UID)
	cf.Config.WorkingDir = Home
	cf.Config.Env = []string{"PATH=" + BinDir + ":/usr/bin:/bin", "SSL_CERT_FILE=" + CertFile, "HOME=" + Home}
	cf.Config.Cmd = []string{BinDir + "/streamjob", "-h"}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "pinpipe",
		"org.opencontainers.image.description": "pinpipe's binaries: " + strings.Join(Binaries, ", "),
		"org.opencontainers.image.source":      "https://github.com/pinpipe/pinpipe",
	}
	if cfg.Revision != "" {
		cf.Config.Labels["org.opencontainers.image.revision"] = cfg.Revision
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}

	ref, err := name.NewTag(cfg.Tag)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("-tag %q: %w", cfg.Tag, err)
	}
	ociDir := filepath.Join(cfg.Out, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
		"io.containerd.image.name":          ref.Name(),
	})); err != nil {
		return v1.Hash{}, err
	}
	if err := tarball.WriteToFile(filepath.Join(cfg.Out, "pinpipe.tar"), ref, img); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}

// rootFS returns the image's one layer: an uncompressed tar with fixed
// owners, modes and times, in a fixed order.
func rootFS(cfg Config) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(name string, mode int64, typ byte, size int64, uid int) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Typeflag: typ, Size: size, Uid: uid, Gid: uid,
			ModTime: cfg.Epoch, Format: tar.FormatPAX}
	}
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(hdr(name+"/", mode, tar.TypeDir, 0, uid))
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(hdr(name, mode, tar.TypeReg, int64(len(body)), 0)); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "home"} {
		if err := dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	if err := dir(strings.TrimPrefix(Home, "/"), 0o750, UID); err != nil {
		return nil, err
	}
	if err := dir("tmp", 0o1777, 0); err != nil {
		return nil, err
	}
	for _, d := range []string{"usr", "usr/local", "usr/local/bin"} {
		if err := dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:%s:/sbin/nologin\n", User, UID, UID, User, Home)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", User, UID)
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return nil, err
	}
	if err := file(strings.TrimPrefix(CertFile, "/"), 0o644, caBundle()); err != nil {
		return nil, err
	}
	for _, b := range Binaries {
		body, err := os.ReadFile(filepath.Join(cfg.Bin, b))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("binary %s missing in %s: build them first (make image does)", b, cfg.Bin)
		}
		if err != nil {
			return nil, err
		}
		if err := file(strings.TrimPrefix(BinDir, "/")+"/"+b, 0o755, body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// caBundle returns the NSS roots as PEM. Roots that NSS trusts only for
// certificates issued before a date are left out: PEM cannot say so.
func caBundle() []byte {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	return b.Bytes()
}
