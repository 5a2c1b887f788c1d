package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeBinaries writes stand-ins of the binaries (their contents do not
// matter to the image's layout).
func fakeBinaries(t *testing.T) string {
	dir := t.TempDir()
	for _, b := range Binaries {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\necho "+b+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testConfig(bin, out string) Config {
	return Config{Bin: bin, Out: out, Tag: "pinpipe:test", Epoch: time.Unix(1700000000, 0), Arch: "amd64", Revision: "0123abcd"}
}

// readImage reads the image of an OCI layout, with its one layer's files.
func readImage(t *testing.T, dir string) (v1.Image, map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("index: %v, %d manifests, want 1", err, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d, want 1", err, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdrs, bodies := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(h.Name, "/")
		hdrs[name] = h
		if bodies[name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	return img, hdrs, bodies
}

// TestImageIsReproducible builds the image twice from the same binaries and
// checks the digests and the docker tarballs are the same.
func TestImageIsReproducible(t *testing.T) {
	bin := fakeBinaries(t)
	out1, out2 := t.TempDir(), t.TempDir()
	d1, err := Build(testConfig(bin, out1))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Build(testConfig(bin, out2))
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("two builds: %s and %s", d1, d2)
	}
	t1, _ := os.ReadFile(filepath.Join(out1, "pinpipe.tar"))
	t2, _ := os.ReadFile(filepath.Join(out2, "pinpipe.tar"))
	if len(t1) == 0 || !bytes.Equal(t1, t2) {
		t.Errorf("the docker tarballs differ (%d and %d bytes)", len(t1), len(t2))
	}
	img, err := tarball.ImageFromPath(filepath.Join(out1, "pinpipe.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// docker's format has its own manifest; the image ID (the config's
	// digest) is the same.
	fromLayout, _, _ := readImage(t, filepath.Join(out1, "oci"))
	c1, _ := img.ConfigName()
	c2, _ := fromLayout.ConfigName()
	if c1 != c2 {
		t.Errorf("the tarball holds image %s, the layout %s", c1, c2)
	}
	other := testConfig(bin, t.TempDir())
	other.Epoch = other.Epoch.Add(time.Second)
	if d3, err := Build(other); err != nil || d3 == d1 {
		t.Errorf("another epoch gave %s (%v): the test cannot tell builds apart", d3, err)
	}
}

// TestImageContents checks what the image holds and how it runs.
func TestImageContents(t *testing.T) {
	bin := fakeBinaries(t)
	out := t.TempDir()
	if _, err := Build(testConfig(bin, out)); err != nil {
		t.Fatal(err)
	}
	img, hdrs, bodies := readImage(t, filepath.Join(out, "oci"))
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("user %q, platform %s/%s", cf.Config.User, cf.OS, cf.Architecture)
	}
	if cf.Config.Labels["org.opencontainers.image.revision"] != "0123abcd" {
		t.Errorf("labels %v", cf.Config.Labels)
	}
	for _, b := range Binaries {
		h := hdrs[BinDir+"/"+b]
		if h == nil || h.Mode != 0o755 || h.Uid != 0 || string(bodies[BinDir+"/"+b]) != "#!/bin/sh\necho "+b+"\n" {
			t.Errorf("%s/%s: %+v", BinDir, b, h)
		}
	}
	if h := hdrs["/tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp: %+v", h)
	}
	if h := hdrs[Home]; h == nil || h.Uid != UID || h.Typeflag != tar.TypeDir {
		t.Errorf("%s: %+v", Home, h)
	}
	if !strings.Contains(string(bodies["/etc/passwd"]), "pinpipe:x:65532:65532:") {
		t.Errorf("/etc/passwd:\n%s", bodies["/etc/passwd"])
	}
	for name, h := range hdrs {
		if !h.ModTime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: time %v, want the epoch", name, h.ModTime)
		}
	}
	pool, n := x509.NewCertPool(), 0
	for rest := bodies[CertFile]; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", CertFile, err)
		}
		pool.AddCert(c)
		n++
	}
	if n < 100 {
		t.Errorf("%s holds %d certificates, want the NSS roots", CertFile, n)
	}
}

// TestBinariesStartInImage builds the real static binaries and the image,
// then starts each binary inside the image: with a container runtime when
// one answers (docker), else in a chroot of the image's file system as its
// user (root is needed for chroot). Either way nothing of the host is used.
func TestBinariesStartInImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the five binaries")
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+"/", "../../cmd/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ../../cmd/...: %v\n%s", err, out)
	}
	out := t.TempDir()
	if _, err := Build(testConfig(bin, out)); err != nil {
		t.Fatal(err)
	}
	if exec.Command("docker", "info").Run() == nil {
		if o, err := exec.Command("docker", "load", "-i", filepath.Join(out, "pinpipe.tar")).CombinedOutput(); err != nil {
			t.Fatalf("docker load: %v\n%s", err, o)
		}
		for _, b := range Binaries {
			o, err := exec.Command("docker", "run", "--rm", "--network", "none", "pinpipe:test", BinDir+"/"+b, "-h").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(o), "usage:") {
				t.Errorf("docker run %s -h: %v\n%s", b, err, o)
			}
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("no container runtime answers, and chroot needs root")
	}
	t.Log("no container runtime answers: starting the binaries in a chroot of the image")
	img, hdrs, bodies := readImage(t, filepath.Join(out, "oci"))
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, h := range hdrs {
		p := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, h.FileInfo().Mode()); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, h.Uid, h.Gid); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, bodies[name], h.FileInfo().Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range Binaries {
		cmd := exec.Command(BinDir+"/"+b, "-h")
		cmd.Env = cf.Config.Env
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: UID, Gid: UID}}
		o, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(o), "usage:") {
			t.Errorf("%s -h in the image: %v\n%s", b, err, o)
		}
	}
}
