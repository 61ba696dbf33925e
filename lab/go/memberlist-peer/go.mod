// github.com/hashicorp/memberlist v0.5.1 and the modules its packages use, at the versions
// MetalLB v0.15.2's go.mod selects (minimal version selection in MetalLB's build picks these,
// not memberlist's own older minimums), so the peer runs the code a MetalLB speaker runs.
module lb.lab/memberlist-peer

go 1.24.0

require github.com/hashicorp/memberlist v0.5.1

require (
	github.com/armon/go-metrics v0.3.9 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/hashicorp/errwrap v1.0.0 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/go-msgpack/v2 v2.1.1 // indirect
	github.com/hashicorp/go-multierror v1.1.0 // indirect
	github.com/hashicorp/go-sockaddr v1.0.0 // indirect
	github.com/hashicorp/golang-lru v0.5.1 // indirect
	github.com/miekg/dns v1.1.43 // indirect
	github.com/sean-/seed v0.0.0-20170313163322-e2103e2c3529 // indirect
	golang.org/x/net v0.39.0 // indirect
	golang.org/x/sys v0.33.0 // indirect
)
