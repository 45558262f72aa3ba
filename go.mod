module github.com/kopir/kopir

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/russellhaering/goxmldsig v1.6.1
	golang.org/x/crypto v0.59.0
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require github.com/jonboulle/clockwork v0.5.0 // indirect
