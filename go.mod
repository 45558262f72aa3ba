module github.com/kopir/kopir

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/russellhaering/goxmldsig v1.6.1
	github.com/sony/gobreaker/v2 v2.4.0
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.59.0
	gopkg.in/yaml.v3 v3.0.1
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
)
