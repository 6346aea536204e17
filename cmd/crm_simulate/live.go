package main

import (
	"context"
	"fmt"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
)

// liveTimeout bounds the query of the live CIB.
const liveTimeout = 30 * time.Second

// readLive returns the whole CIB of the live cluster, read through the
// local crmd's CIB service (CIB_socket, default /run/systole/cib.sock) or
// the file CIB_file names, as the other tools do.
func readLive() ([]byte, error) {
	c, err := client.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("live CIB: %w", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), liveTimeout)
	defer cancel()
	out, _, err := c.Query(ctx, cib.Request{Op: cib.OpQuery})
	if err != nil {
		return nil, fmt.Errorf("live CIB: %w", err)
	}
	if len(out) != 1 || out[0].Tag != "cib" {
		return nil, fmt.Errorf("live CIB: the query returned %d elements, not the <cib>", len(out))
	}
	return elementBytes(out[0])
}

// elementBytes serialises a copy of e as a document.
func elementBytes(e *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(e.Copy())
	return doc.WriteToBytes()
}
