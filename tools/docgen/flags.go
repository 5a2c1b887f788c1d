package main

import (
	"regexp"
	"strings"
)

// Flag is one flag as printed by the flag package's PrintDefaults.
type Flag struct {
	Name    string
	Type    string // "string", "int", "duration", ...; "" for a boolean flag
	Default string // as printed after "(default ...)", quotes removed; "" when none is printed
	Usage   string
}

// flagLine matches the first line of a flag in PrintDefaults output:
// "  -name type" or "  -name" (boolean), optionally followed by "\tusage" on
// the same line (one-letter names).
var flagLine = regexp.MustCompile(`^  -([^\s=]+)(?: ([^\t]+))?(?:\t(.*))?$`)

// defaultSuffix matches the " (default x)" PrintDefaults appends to a usage.
var defaultSuffix = regexp.MustCompile(` \(default (.*)\)$`)

// ParseDefaults parses the output of flag.FlagSet.PrintDefaults (Go's
// format: "  -name type\n    \tusage (default x)"), ignoring every other
// line (usage banners, "Usage of X:").
func ParseDefaults(out string) []Flag {
	var flags []Flag
	var cur *Flag
	finish := func() {
		if cur == nil {
			return
		}
		cur.Usage = strings.TrimSpace(cur.Usage)
		if m := defaultSuffix.FindStringSubmatch(cur.Usage); m != nil {
			cur.Default = m[1]
			if len(cur.Default) >= 2 && cur.Default[0] == '"' && cur.Default[len(cur.Default)-1] == '"' {
				cur.Default = cur.Default[1 : len(cur.Default)-1]
			}
			cur.Usage = strings.TrimSuffix(cur.Usage, m[0])
		}
		flags = append(flags, *cur)
		cur = nil
	}
	for _, line := range strings.Split(out, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			finish()
			cur = &Flag{Name: m[1], Type: m[2], Usage: m[3]}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "    \t") {
			if cur.Usage != "" {
				cur.Usage += " "
			}
			cur.Usage += strings.TrimPrefix(line, "    \t")
			continue
		}
		finish()
	}
	finish()
	return flags
}
