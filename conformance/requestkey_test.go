package conformance

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/keyemu/keyemu/emu"
)

func TestCheckRequestKeyConf(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		ok         bool
	}{
		{"keyctl", "create user rk:* * /bin/keyctl instantiate %k %c %S", true},
		{"report pipe", "create user rk:* * |keyemu-report %k user secret", true},
		{"star alone", "create user * * keyemu-probe %k", true},
		{"leading star", "create user *:x * /bin/keyctl negate %k 1 %S", false},
		{"unknown program", "create user rk:* * /bin/sh -c true", false},
		{"too few fields", "create user rk:*", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRequestKeyConf(tc.conf)
			assert.Equal(t, tc.ok, err == nil, "checkRequestKeyConf(%q) = %v", tc.conf, err)
		})
	}
}

func TestParseIDMap(t *testing.T) {
	m, err := parseIDMap("0:1000:1/1:100000:10")
	assert.NoError(t, err)
	assert.Equal(t, []emu.IDMap{{Inside: 0, Outside: 1000, Count: 1}, {Inside: 1, Outside: 100000, Count: 10}}, m)
	m, err = parseIDMap("")
	assert.NoError(t, err)
	assert.Nil(t, m)
	for _, bad := range []string{"0:1000", "a:b:c", "0:1000:1/", "-1:0:1"} {
		_, err := parseIDMap(bad)
		assert.Error(t, err, "parseIDMap(%q)", bad)
	}
}
