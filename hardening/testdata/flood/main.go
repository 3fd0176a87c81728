// Command flood is an unprivileged D-Bus caller for the hardening tests:
// -n connections each call Install -rounds times with -size bytes of
// choices, all at once, and it prints how the calls ended as JSON.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	godbus "github.com/godbus/dbus/v5"
)

func main() {
	n := flag.Int("n", 64, "parallel connections")
	rounds := flag.Int("rounds", 2, "calls per connection")
	size := flag.Int("size", 6<<20, "bytes of choices per call")
	flag.Parse()
	big := strings.Repeat("A", *size)
	var mu sync.Mutex
	ends := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := func(s string) {
				mu.Lock()
				ends[s]++
				mu.Unlock()
			}
			conn, err := godbus.SystemBusPrivate()
			if err == nil {
				err = conn.Auth(nil)
			}
			if err == nil {
				err = conn.Hello()
			}
			if err != nil {
				end("connect: " + err.Error())
				return
			}
			defer conn.Close()
			obj := conn.Object("org.rockon.rockon1", "/org/rockon/rockon1")
			for r := 0; r < *rounds; r++ {
				choices := map[string]godbus.Variant{"config": godbus.MakeVariant(big)}
				err := obj.Call("org.rockon.rockon1.Manager.Install", 0, "Plain App Pa", choices, map[string]godbus.Variant{}).Err
				var de godbus.Error
				switch {
				case err == nil:
					end("accepted")
				case asError(err, &de):
					end(de.Name)
				default:
					end("other: " + err.Error())
				}
			}
		}()
	}
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(ends); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func asError(err error, de *godbus.Error) bool {
	switch e := err.(type) {
	case godbus.Error:
		*de = e
		return true
	case *godbus.Error:
		*de = *e
		return true
	}
	return false
}
