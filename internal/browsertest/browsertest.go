// Package browsertest loads pinpipe's HTML pages in headless Chromium
// (Debian's chromium) through the DevTools protocol (chromedp), for tests:
// it collects the console errors, uncaught exceptions and error log entries
// of the page and every URL the page requests, evaluates script in the page
// and keeps screenshots as test artifacts.
package browsertest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pinpipe/pinpipe/internal/devstack"
)

// EnvArtifacts names the directory the screenshots are kept in; default
// {repo}/.artifacts.
const EnvArtifacts = "PINPIPE_TEST_ARTIFACTS"

// Chromium returns the path of the chromium binary, or skips t: under
// -short, or when it is not installed (.ci/run installs it).
func Chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("drives headless Chromium: skipped under -short")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it): the browser tests are skipped")
	return ""
}

// Browser is one headless Chromium with one tab.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	errors   []string
	requests []string
}

// Open starts Chromium with a fresh profile and a tab of the given viewport
// size in CSS pixels; it is stopped when the test ends.
func Open(t testing.TB, width, height int64) *Browser {
	t.Helper()
	path := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(int(width), int(height)),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, b.event); err != nil {
		t.Fatalf("starting chromium %s: %v", path, err)
	}
	enable := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	})
	if err := chromedp.Do(ctx, enable, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("starting chromium %s: %v", path, err)
	}
	return b
}

func (b *Browser) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, cmp.Or(string(a.Value), a.Description))
			}
			b.errors = append(b.errors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.errors = append(b.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			b.errors = append(b.errors, fmt.Sprintf("log %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	}
}

// Navigate loads url and waits for its load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("loading %s: %v", url, err)
	}
}

// Errors returns the console errors, uncaught exceptions and error log
// entries of the page so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// Requests returns the URLs the page requested so far.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Eval evaluates expression in the page and decodes its JSON value into out.
func (b *Browser) Eval(expression string, out any) {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](expression))
	if err != nil {
		b.t.Fatalf("evaluating %.80q: %v", expression, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.t.Fatalf("evaluating %.80q: result %.200s: %v", expression, raw, err)
	}
}

// WaitTrue waits until expression is true in the page (polled by the
// browser on each animation frame), for at most timeout.
func (b *Browser) WaitTrue(expression string, timeout time.Duration) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expression, chromedp.WithPollingTimeout(timeout))); err != nil {
		b.t.Fatalf("waiting for %q: %v", expression, err)
	}
}

// Dark switches the emulated colour scheme to dark (or back to light).
func (b *Browser) Dark(dark bool) {
	b.t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
	if err != nil {
		b.t.Fatalf("emulating prefers-color-scheme %s: %v", scheme, err)
	}
}

// Screenshot saves a full-page PNG screenshot as the test artifact
// {artifacts}/{test name}/{name}.png and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(artifactDir(b.t), strings.ReplaceAll(b.t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// artifactDir is $PINPIPE_TEST_ARTIFACTS, or {repo}/.artifacts.
func artifactDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(EnvArtifacts); d != "" {
		return d
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, ".artifacts")
}

// DrawnBarsJS is a JavaScript function expression: given a canvas, the
// number of bars Chart.js drew on it, those of its visible datasets that
// have a value and a position; 0 when the canvas has no chart.
const DrawnBarsJS = `(c => {
  const ch = Chart.getChart(c);
  let n = 0;
  if (!ch) return 0;
  ch.data.datasets.forEach((d, i) => {
    if (!ch.isDatasetVisible(i)) return;
    ch.getDatasetMeta(i).data.forEach((el, j) => {
      const v = d.data[j];
      if (v !== null && v !== undefined && Number.isFinite(el.x) && Number.isFinite(el.y)) n++;
    });
  });
  return n;
})`

// OpenPhone loads url in a new tab of a phone's width (390 by 844 CSS
// pixels), waits for at most 10s until ready is true, and fails t if the
// page scrolls sideways there (a wide table must scroll in its own box). It
// saves the screenshot named screenshot and returns the tab.
func OpenPhone(t testing.TB, url, ready, screenshot string) *Browser {
	t.Helper()
	phone := Open(t, 390, 844)
	phone.Navigate(url)
	phone.WaitTrue(ready, 10*time.Second)
	var widths struct{ Scroll, Inner int }
	phone.Eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &widths)
	if widths.Scroll > widths.Inner {
		t.Errorf("at phone width the page scrolls sideways: %d px wide in a %d px window", widths.Scroll, widths.Inner)
	}
	phone.Screenshot(screenshot)
	return phone
}
