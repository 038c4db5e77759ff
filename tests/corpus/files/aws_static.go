package storage

import "github.com/aws/aws-sdk-go/aws/credentials"

var creds = credentials.NewStaticCredentials("AKIANOWYU7YXPA2VHWUY", "M++DnuWkbjQ5cqCMt+rc1ny7nUAMRq5R8nm9Bpou", "")
var fromEnv = credentials.NewEnvCredentials()
