package objstore

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

var errNotDirSyscall error = syscall.ENOTDIR

// exchange swaps the directories a and b atomically.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return errExchangeUnsupported
	}
	return err
}
