package devstack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names of the files in the stack directory.
const (
	envFileName  = "env"
	pidsFileName = "pids"
)

// WriteEnvFile writes e as a sourceable shell file ("export KEY='value'"
// lines) to path, atomically.
func WriteEnvFile(path string, e Env) error {
	var b bytes.Buffer
	b.WriteString("# Written by `devstack up`. Use: . " + path + "\n")
	for _, kv := range e.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	return writeFileAtomic(path, b.Bytes())
}

// ReadEnvFile reads a file written by WriteEnvFile. A missing file yields an
// error wrapping os.ErrNotExist.
func ReadEnvFile(path string) (Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Env{}, fmt.Errorf("reading stack env: %w", err)
	}
	vars, err := parseEnvFile(data)
	if err != nil {
		return Env{}, fmt.Errorf("reading stack env %s: %w", path, err)
	}
	return envFromVars(vars), nil
}

func parseEnvFile(data []byte) (map[string]string, error) {
	vars := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want KEY=value, got %q", n, line)
		}
		uv, err := shellUnquote(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		vars[strings.TrimSpace(k)] = uv
	}
	return vars, sc.Err()
}

// shellQuote quotes s for a POSIX shell with single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellUnquote undoes shellQuote; it also accepts unquoted words.
func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
		case s[0] == '\\' && len(s) > 1:
			b.WriteByte(s[1])
			s = s[2:]
		default:
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String(), nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
