;; The DLP engine's whole-body byte passes, in WebAssembly: V8 runs a byte
;; loop over a typed array with a bounds check and a tagged-value check per
;; load, which made these passes most of a 64 KiB scan. Here a table load
;; costs one instruction, and class membership is tested for 16 bytes at
;; once with SIMD.
;;
;; Source of `byte-scan-wasm.ts` (scripts/build-byte-scan-wasm.mjs); the
;; memory layout and the tables are the caller's (`byte-scan.ts`).
(module
  (memory (export "memory") 1)

  ;; Every keyword occurrence starting in the $n bytes at $in, found by
  ;; walking the keyword trie from each offset whose byte pair begins a
  ;; keyword: the pair's little-endian 16-bit load indexes a byte table of
  ;; pair ids, and an id names the trie node the pair leads to. That common
  ;; path is two loads per byte; in prose one offset in seven goes on to
  ;; the trie. For each node reached where a keyword ends, writes (offset of
  ;; its last byte from $in, node row) to $out; returns how many.
  ;;
  ;; The caller copies the longest keyword's length of lookahead after the
  ;; $n bytes (zeros at the end of the text: no keyword holds a NUL).
  ;; Tables at $tables: [0, 256) symbol by byte, [256, 65792) pair id by
  ;; pair, [65792, 66816) i32 node row by pair id; $trie: i32 child row
  ;; (node times the symbol count; 0 for none, the root being no child) by
  ;; row + symbol; $ends: 1 by row for nodes where a keyword ends.
  (func (export "keywordHits") (param $tables i32) (param $trie i32) (param $ends i32) (param $in i32) (param $n i32) (param $out i32) (result i32)
    (local $i i32) (local $j i32) (local $end i32) (local $at i32) (local $id i32) (local $row i32)
    (local.set $i (local.get $in))
    (local.set $end (i32.add (local.get $in) (local.get $n)))
    (local.set $at (local.get $out))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $id (i32.load8_u offset=256 (i32.add (local.get $tables) (i32.load16_u (local.get $i)))))
        (if (local.get $id)
          (then
            (local.set $row (i32.load offset=65792 (i32.add (local.get $tables) (i32.shl (local.get $id) (i32.const 2)))))
            (local.set $j (i32.add (local.get $i) (i32.const 1)))
            (block $walked
              (loop $walk
                (if (i32.load8_u (i32.add (local.get $ends) (local.get $row)))
                  (then
                    (i32.store (local.get $at) (i32.sub (local.get $j) (local.get $in)))
                    (i32.store offset=4 (local.get $at) (local.get $row))
                    (local.set $at (i32.add (local.get $at) (i32.const 8)))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (local.set $row
                  (i32.load (i32.add (local.get $trie)
                    (i32.shl
                      (i32.add (local.get $row) (i32.load8_u (i32.add (local.get $tables) (i32.load8_u (local.get $j)))))
                      (i32.const 2)))))
                (br_if $walk (local.get $row))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.shr_u (i32.sub (local.get $at) (local.get $out)) (i32.const 3)))

  ;; Maximal runs of at least $min (2..64) class members in the $n bytes at
  ;; $in, as absolute [start, end) i32 pairs at $out (offsets from $base);
  ;; returns how many. $in is 16-byte aligned and readable up to the next
  ;; multiple of 64 past $n; the caller zeroes that padding in the text's
  ;; last chunk (NUL is no member) so runs end there. $carry is the
  ;; absolute start of a run still open from the previous chunk, or -1;
  ;; the run still open at the end (or -1) is stored at $state.
  ;;
  ;; The class is two 16-byte tables at $class, lo then hi: byte h * 16 + l
  ;; is a member exactly when lo[l] & hi[h] is non-zero (hi[h] is 1 << h
  ;; for h < 8 and 0 above, so bytes >= 128 never are). Two swizzles test
  ;; 16 bytes; four make a 64-bit word, bit k for byte k.
  (func (export "classRuns") (param $class i32) (param $in i32) (param $n i32) (param $min i32) (param $base i32) (param $carry i32) (param $out i32) (param $state i32) (result i32)
    (local $lo v128) (local $hi v128) (local $p i32) (local $end i32) (local $pos i32) (local $at i32)
    (local $w i64) (local $z i32) (local $k i32) (local $o i32) (local $s i64) (local $t i64)
    (local $v v128) (local $low4 v128) (local $zero v128) (local $r i64) (local $have i32)
    (local.set $low4 (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $zero (v128.const i64x2 0 0))
    (local.set $lo (v128.load (local.get $class)))
    (local.set $hi (v128.load offset=16 (local.get $class)))
    (local.set $p (local.get $in))
    (local.set $end (i32.add (local.get $in) (local.get $n)))
    (local.set $at (local.get $out))
    (block $done
      (loop $word
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $pos (i32.add (local.get $base) (i32.sub (local.get $p) (local.get $in))))
        (local.set $w (i64.or (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.ne (v128.and
              (i8x16.swizzle (local.get $lo) (v128.and (local.tee $v (v128.load offset=0 (local.get $p))) (local.get $low4)))
              (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))
            (local.get $zero)))) (i64.const 0)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.ne (v128.and
              (i8x16.swizzle (local.get $lo) (v128.and (local.tee $v (v128.load offset=16 (local.get $p))) (local.get $low4)))
              (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))
            (local.get $zero)))) (i64.const 16))) (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.ne (v128.and
              (i8x16.swizzle (local.get $lo) (v128.and (local.tee $v (v128.load offset=32 (local.get $p))) (local.get $low4)))
              (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))
            (local.get $zero)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.ne (v128.and
              (i8x16.swizzle (local.get $lo) (v128.and (local.tee $v (v128.load offset=48 (local.get $p))) (local.get $low4)))
              (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))
            (local.get $zero)))) (i64.const 48)))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (block $handled
          ;; All members: a run opens here or goes on.
          (if (i64.eq (local.get $w) (i64.const -1))
            (then
              (if (i32.lt_s (local.get $carry) (i32.const 0)) (then (local.set $carry (local.get $pos))))
              (br $handled)))
          ;; The open run ends at the first non-member.
          (if (i32.ge_s (local.get $carry) (i32.const 0))
            (then
              (local.set $z (i32.wrap_i64 (i64.ctz (i64.xor (local.get $w) (i64.const -1)))))
              (if (i32.ge_s (i32.sub (i32.add (local.get $pos) (local.get $z)) (local.get $carry)) (local.get $min))
                (then
                  (i32.store (local.get $at) (local.get $carry))
                  (i32.store offset=4 (local.get $at) (i32.add (local.get $pos) (local.get $z)))
                  (local.set $at (i32.add (local.get $at) (i32.const 8)))))
              (local.set $carry (i32.const -1))
              (local.set $w (i64.and (local.get $w) (i64.shl (i64.const -1) (i64.extend_i32_u (local.get $z)))))))
          (br_if $handled (i64.eqz (local.get $w)))
          ;; No whole run of $min inside the word (most words of prose): only a run reaching the top stays open.
          (local.set $r (local.get $w))
          (local.set $have (i32.const 1))
          (block $enough
            (loop $double
              (br_if $enough (i32.gt_u (i32.shl (local.get $have) (i32.const 1)) (local.get $min)))
              (local.set $r (i64.and (local.get $r) (i64.shr_u (local.get $r) (i64.extend_i32_u (local.get $have)))))
              (local.set $have (i32.shl (local.get $have) (i32.const 1)))
              (br $double)))
          (if (i32.lt_u (local.get $have) (local.get $min))
            (then (local.set $r (i64.and (local.get $r) (i64.shr_u (local.get $r) (i64.extend_i32_u (i32.sub (local.get $min) (local.get $have))))))))
          (if (i64.eqz (local.get $r))
            (then
              (if (i64.lt_s (local.get $w) (i64.const 0))
                (then (local.set $carry (i32.sub (i32.add (local.get $pos) (i32.const 64))
                  (i32.wrap_i64 (i64.clz (i64.xor (local.get $w) (i64.const -1))))))))
              (br $handled)))
          ;; Otherwise every run of the word, one by one.
          (local.set $k (i32.const 0))
          (block $last
            (loop $run
              (br_if $last (i32.ge_u (local.get $k) (i32.const 64)))
              (local.set $s (i64.shr_u (local.get $w) (i64.extend_i32_u (local.get $k))))
              (br_if $last (i64.eqz (local.get $s)))
              (local.set $o (i32.add (local.get $k) (i32.wrap_i64 (i64.ctz (local.get $s)))))
              (local.set $t (i64.shr_u (i64.xor (local.get $w) (i64.const -1)) (i64.extend_i32_u (local.get $o))))
              (if (i64.eqz (local.get $t))
                (then
                  (local.set $carry (i32.add (local.get $pos) (local.get $o)))
                  (br $last)))
              (local.set $z (i32.add (local.get $o) (i32.wrap_i64 (i64.ctz (local.get $t)))))
              (if (i32.ge_s (i32.sub (local.get $z) (local.get $o)) (local.get $min))
                (then
                  (i32.store (local.get $at) (i32.add (local.get $pos) (local.get $o)))
                  (i32.store offset=4 (local.get $at) (i32.add (local.get $pos) (local.get $z)))
                  (local.set $at (i32.add (local.get $at) (i32.const 8)))))
              (local.set $k (local.get $z))
              (br $run))))
        (br $word)))
    (i32.store (local.get $state) (local.get $carry))
    (i32.shr_u (i32.sub (local.get $at) (local.get $out)) (i32.const 3)))
)
