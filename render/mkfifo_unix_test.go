//go:build unix

package render

import "syscall"

// mkfifo makes a named pipe at path, which blocks whoever opens it for
// reading until a writer comes.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
