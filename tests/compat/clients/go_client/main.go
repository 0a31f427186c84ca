// A Go function's client for the AWS Parameters and Secrets Lambda Extension, as people write
// it: net/http and encoding/json only, the SDK's output shapes with time.Time dates, and a retry
// on 400 (the extension's "not ready yet" answer during INIT). It reads a few values through the
// server on PARAMETERS_SECRETS_EXTENSION_HTTP_PORT and prints a JSON report for the test:
// statuses, headers, values, and whether each body survives encoding/json's round trip
// (decoded into the structs, encoded again, byte for byte the same).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

type Parameter struct {
	ARN              *string
	DataType         *string
	LastModifiedDate *time.Time
	Name             *string
	Selector         *string
	SourceResult     *string
	Type             string
	Value            *string
	Version          int64
}

type GetParameterOutput struct {
	Parameter      *Parameter
	ResultMetadata struct{}
}

type GetSecretValueOutput struct {
	ARN            *string
	CreatedDate    *time.Time
	Name           *string
	SecretBinary   []byte
	SecretString   *string
	VersionId      *string
	VersionStages  []string
	ResultMetadata struct{}
}

type Read struct {
	Status       int    `json:"status"`
	Attempts     int    `json:"attempts"`
	ContentType  string `json:"contentType"`
	HasDate      bool   `json:"hasDate"`
	Body         string `json:"body,omitempty"`
	Value        string `json:"value,omitempty"`
	Date         string `json:"date,omitempty"`
	RoundTrip    bool   `json:"roundTrip"`
	DecodeFailed string `json:"decodeFailed,omitempty"`
}

var port = os.Getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")

// get retries while the extension answers 400, as functions written for the AWS layer do.
func get(path string, attempts int) (*http.Response, []byte, int) {
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest("GET", "http://localhost:"+port+path, nil)
		if err != nil {
			panic(err)
		}
		req.Header.Set("X-Aws-Parameters-Secrets-Token", os.Getenv("AWS_SESSION_TOKEN"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			panic(err)
		}
		if resp.StatusCode != 400 || attempt == attempts {
			return resp, body, attempt
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func read(path string, attempts int, out interface{}, value func() (string, string)) Read {
	resp, body, tries := get(path, attempts)
	r := Read{Status: resp.StatusCode, Attempts: tries, ContentType: resp.Header.Get("Content-Type"),
		HasDate: resp.Header.Get("Date") != ""}
	if resp.StatusCode != http.StatusOK {
		r.Body = string(body)
		return r
	}
	if err := json.Unmarshal(body, out); err != nil {
		r.DecodeFailed = err.Error()
		return r
	}
	again, err := json.Marshal(out)
	if err != nil {
		r.DecodeFailed = err.Error()
		return r
	}
	r.RoundTrip = bytes.Equal(again, body)
	if !r.RoundTrip {
		r.Body = string(body) + "\n" + string(again)
	}
	r.Value, r.Date = value()
	return r
}

func parameter(name string, extra string) Read {
	var out GetParameterOutput
	path := "/systemsmanager/parameters/get?name=" + url.QueryEscape(name) + extra
	return read(path, 3, &out, func() (string, string) {
		return *out.Parameter.Value, out.Parameter.LastModifiedDate.Format(time.RFC3339Nano)
	})
}

func secret(id string) Read {
	var out GetSecretValueOutput
	return read("/secretsmanager/get?secretId="+url.QueryEscape(id), 3, &out, func() (string, string) {
		value := string(out.SecretBinary)
		if out.SecretString != nil {
			value = *out.SecretString
		}
		return value, out.CreatedDate.Format(time.RFC3339Nano)
	})
}

func main() {
	report := map[string]Read{
		"plain":   parameter("/compat/plain", ""),
		"html":    parameter("/compat/html", ""),
		"secure":  parameter("/compat/secure", "&withDecryption=true"),
		"secret":  secret("compat/db"),
		"binary":  secret("compat/blob"),
		"missing": parameter("/compat/missing", ""),
	}
	encoded, err := json.Marshal(report)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(encoded))
}
