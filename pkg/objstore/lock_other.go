//go:build !unix

package objstore

import "sync"

var dirLock sync.Mutex

// lockDir serialises the conditional changes of this process (the platform
// has no flock).
func lockDir(string) (unlock func(), err error) {
	dirLock.Lock()
	return dirLock.Unlock, nil
}
