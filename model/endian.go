package model

import "encoding/binary"

// putNative32 stores v as the reference kernel (x86_64) lays out a
// key_serial_t: little-endian.
func putNative32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
