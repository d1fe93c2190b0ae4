//go:build linux

package conformance

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/keyemu/keyemu/emu"
)

// The kernel world prefixes covered descriptions on the way in and strips
// the prefix from KEYCTL_DESCRIBE and KEYCTL_READ results on the way out.
func TestKernelRequestKeyTranslate(t *testing.T) {
	rk := &kernelRequestKey{prefix: "P:", patterns: []string{"rk:*", "exact", "x*y"}}
	for _, tc := range []struct {
		desc string
		want bool
	}{{"rk:a", true}, {"rk:", true}, {"exact", true}, {"exactly", false}, {"other", false}, {"xay", true}, {"xz", true}} {
		assert.Equal(t, tc.want, rk.covers(tc.desc), "covers(%q)", tc.desc)
	}

	args, _ := rk.translate(emu.SYS_REQUEST_KEY, []emu.Arg{emu.String("user"), emu.String("rk:a"), emu.Null(), emu.Int(0)})
	d, _ := args[1].StringValue()
	assert.Equal(t, "P:rk:a", d, "request_key description")
	args, _ = rk.translate(emu.SYS_KEYCTL, []emu.Arg{emu.Int(emu.KEYCTL_SEARCH), emu.Int(-3), emu.String("user"), emu.String("other"), emu.Int(0)})
	d, _ = args[3].StringValue()
	assert.Equal(t, "other", d, "KEYCTL_SEARCH of an uncovered description")

	buf := []byte("################################")
	_, untranslate := rk.translate(emu.SYS_KEYCTL, []emu.Arg{emu.Int(emu.KEYCTL_DESCRIBE), emu.Int(5), emu.Buffer(buf), emu.Int(len(buf))})
	n := copy(buf, "user;0;0;3f010000;P:rk:a\x00")
	assert.Equal(t, n-2, untranslate(n))
	assert.Equal(t, "user;0;0;3f010000;rk:a\x00#########", string(buf))
	assert.Equal(t, 100, untranslate(100), "a result longer than the buffer is left alone")
}
