// Package ui stands in for Argo Workflows' web UI package, which is built with yarn from a ui/
// directory that kubedojo's source archive does not carry. It offers what the server needs: the
// embedded files and the directory they sit in. Written for kubedojo.
package ui

import "embed"

// EMBED_PATH is the directory of the embedded files that the server serves.
const EMBED_PATH = "dist/app"

// Embedded holds the page the server shows instead of the web UI.
//
//go:embed dist/app
var Embedded embed.FS
