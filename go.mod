module github.com/gmfield/gmfield

go 1.26.0

require (
	github.com/emmansun/gmsm v0.44.1
	github.com/stretchr/testify v1.12.1
	golang.org/x/text v0.44.0
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.54.0 // indirect
)
