// Package cli holds what the binaries share on their command line: the exit
// codes, the one-line error message, and the --log-format flag with the
// logger it selects. Each main parses its flags into a Config and validates it
// (a failure is a usage error), then calls run(ctx, cfg, ...), and exits with
// ExitCode of what came back (Main).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Main is a binary's main: it parses the command line with parse (usage on
// stderr), runs run with a context cancelled by SIGINT or SIGTERM, prints
// the error, if any, as Message(name, err), and exits with its ExitCode.
func Main[C any](name string, parse func(args []string, stderr io.Writer) (C, error), run func(ctx context.Context, cfg C) error) {
	cfg, err := parse(os.Args[1:], os.Stderr)
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg)
		stop()
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, Message(name, err))
	}
	os.Exit(ExitCode(err))
}

// Exit codes of the binaries.
const (
	ExitOK      = 0 // success, or -h
	ExitFailure = 1 // the run failed
	ExitUsage   = 2 // bad flags or an invalid configuration
)

// usageError marks an error as a usage error.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Usage marks err as a usage error (bad flags, invalid configuration), so that
// ExitCode returns ExitUsage for it. Usage(nil) is nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// IsUsage reports whether err was marked by Usage.
func IsUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// ExitCode returns the exit code of a binary whose parse or run returned err:
// ExitOK for nil and flag.ErrHelp, ExitUsage for a usage error, else
// ExitFailure.
func ExitCode(err error) int {
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return ExitOK
	case IsUsage(err):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// Message returns the line a binary prints on stderr for err: its name,
// then the error flattened onto one line.
func Message(name string, err error) string {
	return name + ": " + strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// Values of --log-format.
const (
	LogText = "text" // slog's text handler (the default)
	LogJSON = "json" // slog's JSON handler, one object per line
)

// LogFormatFlag defines --log-format on fs, bound to p, defaulting to text.
func LogFormatFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "log-format", LogText, "log format on stderr: text or json")
}

// CheckLogFormat reports a --log-format other than text and json ("" is
// text).
func CheckLogFormat(format string) error {
	switch format {
	case LogText, LogJSON, "":
		return nil
	}
	return fmt.Errorf("--log-format %q: want text or json", format)
}

// NewLogger returns a logger writing the records of level and above to w in
// format, "text" or "json" (CheckLogFormat; anything else is text).
func NewLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Parse parses args with fs for a binary whose one-line usage is usage
// ("usage: NAME ..."). On -h/--help it prints usage and the flags on stderr
// and returns flag.ErrHelp; a bad flag or an argument left over is a usage
// error naming it. fs's own output is silenced.
func Parse(fs *flag.FlagSet, args []string, stderr io.Writer, usage string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, usage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return flag.ErrHelp
		}
		return Usage(fmt.Errorf("%w (see --help)", err))
	}
	if fs.NArg() > 0 {
		return Usage(fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0)))
	}
	return nil
}

// SecretFlag defines a string flag on fs, bound to p, whose value is never
// printed: neither a default taken from the environment (which *p holds
// before the call) nor a value given appears in --help or the README.
func SecretFlag(fs *flag.FlagSet, p *string, name, usage string) {
	fs.Var((*secret)(p), name, usage)
}

type secret string

func (s *secret) String() string     { return "" }
func (s *secret) Set(v string) error { *s = secret(v); return nil }

// SplitList splits a comma-separated flag value such as --brokers, trimming
// spaces and dropping empty items; "" is nil.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
