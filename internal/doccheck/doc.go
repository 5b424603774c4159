// Package doccheck holds tests that keep the Chinese documentation in step
// with the English.
//
// Every English document with a Chinese twin (README.md and
// docs/zh/README.md; docs/X.md and docs/zh/X.md) must have, in its twin,
// the same Markdown headings at the same levels in the same order. In a
// Chinese twin each heading line (a line starting with one or more '#'
// and a space, outside ``` and ~~~ code fences) is followed immediately by
// one line
//
//	<!-- en: TEXT -->
//
// where TEXT is the text of the corresponding English heading, exactly.
// The tests fail, naming the file, the English heading and the line, when
// the Chinese twin is missing, lacks a section, has an extra one or has
// one out of order, when a Chinese heading has no marker or its marker
// names no English heading, and when a file under docs/zh/ has no English
// twin in the list. The package has no code outside its tests.
package doccheck
