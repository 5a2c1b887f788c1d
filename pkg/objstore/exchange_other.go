//go:build !linux

package objstore

import "syscall"

var errNotDirSyscall error = syscall.ENOTDIR

func exchange(a, b string) error { return errExchangeUnsupported }
