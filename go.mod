module github.com/keyemu/keyemu

go 1.26.8

require (
	github.com/cockroachdb/datadriven v1.0.3
	github.com/google/btree v1.1.3
	golang.org/x/sys v0.50.0
)

require github.com/pmezard/go-difflib v1.0.0 // indirect
