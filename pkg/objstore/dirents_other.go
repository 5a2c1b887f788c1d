//go:build !linux

package objstore

import "os"

// readNames calls fn with the name of each entry of the directory p, of an
// unknown type, in the directory's order.
func readNames(p string, fn func(name string, typ entryType) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := fn(name, entryUnknown); err != nil {
			return err
		}
	}
	return nil
}
