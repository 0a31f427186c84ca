// Reads JSON numbers (epoch seconds, as AWS sends dates), one per line, and prints each as the
// AWS extension would: decoded as aws-sdk-go-v2 does (a float64, then smithy-go's
// ParseEpochSeconds) and encoded with encoding/json (time.Time's MarshalJSON).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	smithytime "github.com/aws/smithy-go/time"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var number json.Number
		if err := json.Unmarshal(in.Bytes(), &number); err != nil {
			fmt.Fprintf(out, "error %v\n", err)
		} else if seconds, err := strconv.ParseFloat(string(number), 64); err != nil {
			fmt.Fprintf(out, "error %v\n", err)
		} else if text, err := json.Marshal(smithytime.ParseEpochSeconds(seconds)); err != nil {
			fmt.Fprintf(out, "error %v\n", err)
		} else {
			fmt.Fprintf(out, "%s\n", text)
		}
		out.Flush()
	}
}
