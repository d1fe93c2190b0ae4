package model

// UStr is a string argument as the kernel receives it: a pointer that may
// be NULL or unreadable, to the bytes before the first NUL.
type UStr struct {
	S     string
	Null  bool
	Fault bool
}

// Str is a readable string argument.
func Str(s string) UStr { return UStr{S: s} }

// NullStr is a NULL string argument.
var NullStr = UStr{Null: true}

// UBuf is a buffer argument: a pointer (NULL, unreadable, or to B) and the
// length the caller passed, which may exceed len(B).
type UBuf struct {
	B     []byte
	Len   int
	Null  bool
	Fault bool
}

// Buf is a readable, writable buffer argument of length len(b).
func Buf(b []byte) UBuf { return UBuf{B: b, Len: len(b)} }

// NullBuf is a NULL buffer argument with length n.
func NullBuf(n int) UBuf { return UBuf{Null: true, Len: n} }

// readable reports whether n bytes can be read or written through b.
func (b UBuf) accessible(n int) bool { return !b.Null && !b.Fault && len(b.B) >= n }

// copyIn copies the first n bytes of b (copy_from_user): EFAULT if they
// cannot be read.
func (b UBuf) copyIn(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if !b.accessible(n) {
		return nil, EFAULT
	}
	data := make([]byte, n)
	copy(data, b.B)
	return data, nil
}

// view returns the first n bytes of b as copyIn would read them (EFAULT if
// they cannot be), without copying: the caller copies what it keeps.
func (b UBuf) view(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if !b.accessible(n) {
		return nil, EFAULT
	}
	return b.B[:n], nil
}

// copyOut writes data to b (copy_to_user): EFAULT if it cannot be written.
func (b UBuf) copyOut(data []byte) error {
	if !b.accessible(len(data)) {
		return EFAULT
	}
	copy(b.B, data)
	return nil
}

// typeFromUser is key_get_type_from_user() (R5.1): a type name of 1..31
// bytes not starting with '.'.
func typeFromUser(u UStr) (string, error) {
	if u.Null || u.Fault {
		return "", EFAULT
	}
	if len(u.S) == 0 || len(u.S) >= 32 {
		return "", EINVAL
	}
	if u.S[0] == '.' {
		return "", EPERM
	}
	return u.S, nil
}

// maxDescSize is KEY_MAX_DESC_SIZE; pageSize is PAGE_SIZE.
const (
	maxDescSize = 4096
	pageSize    = 4096
)

// strndupUser is strndup_user(u, n): EFAULT for NULL or unreadable, EINVAL
// when the string with its NUL does not fit in n bytes (R5.1a).
func strndupUser(u UStr, n int) (string, error) {
	if u.Null || u.Fault {
		return "", EFAULT
	}
	if len(u.S)+1 > n {
		return "", EINVAL
	}
	return u.S, nil
}
