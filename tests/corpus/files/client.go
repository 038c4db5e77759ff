package client

import (
	"context"
	"fmt"
	"os"
)

// Version of the client, see CHANGELOG.md for 1.14.2 -> 1.15.0.
const Version = "1.15.0"

var requestID = "3f1c9a7e-52b4-4c1d-9e8f-0a6b2d4c8e10"
var commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"
var digest = "sha256:3b4f2a1c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"

type Config struct {
	Password string `json:"password"`
	APIKey   string `json:"api_key"`
	Token    string
}

func New(ctx context.Context) (*Client, error) {
	key := os.Getenv("GITLAB_TOKEN")
	if key == "" {
		return nil, fmt.Errorf("GITLAB_TOKEN is not set (expected glpat-...)")
	}
	password := os.Getenv("DB_PASSWORD")
	_ = password
	return &Client{token: key, retries: 3, timeout: 30}, nil
}

// @deprecated use NewWithOptions
func Legacy() {}
