# Inventory sanity (Tcl)
# A Tcl test: prints the interpreter version and checks simple arithmetic on the counters it reads.
puts "Tcl [info patchlevel] on $env(TWISTER_EP)"
set ports {24 24 48}
set total 0
foreach p $ports { incr total $p }
puts "ports in the testbed: $total"
if {$total != 96} { exit 1 }
exit 0
