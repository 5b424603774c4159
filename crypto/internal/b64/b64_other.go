//go:build !amd64 || purego

package b64

const useAVX2 = false

func decodeAVX2(dst, src []byte, blocks int) int { panic("b64: no vector path") }
