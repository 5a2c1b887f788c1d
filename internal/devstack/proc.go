package devstack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is a service process started by this package.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // exit status, valid after done is closed
}

// startMode says how a started process relates to its parent.
type startMode int

const (
	// detached: new session (survives the parent), for `devstack up`.
	detached startMode = iota
	// owned: own process group, killed when the parent dies, for Require.
	owned
)

// startProc starts argv with extra environment, appending its output to
// logPath.
func startProc(name string, argv, env []string, logPath string, mode startMode) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s starting: %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	switch mode {
	case detached:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	case owned:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether p has exited, and if so an error with its log tail.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); log %s:\n%s", p.name, p.err, p.logPath, logTail(p.logPath))
	default:
		return nil
	}
}

// stop ends p's process group: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
	// Children left in the group (none expected) get SIGKILL too.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(tail(b, 1500))
}

// pidRecord is one line of the pids file: a process group leader started by
// `devstack up`, with its start time to guard against pid reuse.
type pidRecord struct {
	Name      string
	Pid       int
	StartTime uint64 // field 22 of /proc/PID/stat
}

func readPids(path string) ([]pidRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading pids: %w", err)
	}
	var recs []pidRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("reading pids %s line %d: want \"name pid starttime\", got %q", path, n, sc.Text())
		}
		pid, err1 := strconv.Atoi(f[1])
		st, err2 := strconv.ParseUint(f[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("reading pids %s line %d: %w", path, n, err)
		}
		recs = append(recs, pidRecord{Name: f[0], Pid: pid, StartTime: st})
	}
	return recs, sc.Err()
}

func writePids(path string, recs []pidRecord) error {
	var b bytes.Buffer
	for _, r := range recs {
		fmt.Fprintf(&b, "%s %d %d\n", r.Name, r.Pid, r.StartTime)
	}
	return writeFileAtomic(path, b.Bytes())
}

// procStat returns the state letter and start time of pid from /proc.
func procStat(pid int) (state byte, start uint64, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid ... ; comm may hold spaces and parens.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(f))
	}
	start, err = strconv.ParseUint(f[19], 10, 64) // field 22 overall
	if err != nil {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
	}
	return f[0][0], start, nil
}

// alive reports whether the recorded process still runs (zombies and reused
// pids count as gone).
func (r pidRecord) alive() bool {
	state, start, err := procStat(r.Pid)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	return start == r.StartTime
}

// groupAlive reports whether any live (non-zombie) process is in r's group.
func (r pidRecord) groupAlive() bool {
	if r.alive() {
		return true
	}
	if err := syscall.Kill(-r.Pid, 0); err != nil {
		return false
	}
	// Something is in the group; make sure it is not only zombies.
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == r.Pid {
			if st, _, err := procStat(pid); err == nil && st != 'Z' && st != 'X' {
				return true
			}
		}
	}
	return false
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago,
// for a test's server.
func FreeAddr(t testing.TB) string {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return hostPort(p)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
