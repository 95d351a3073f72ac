# Twister helpers for Tcl tests: the original Twister names over the `twister` command-line tool, which
# reads TWISTER_URL, TWISTER_TOKEN and TWISTER_RUN from the environment the station gives the test.
# The station copies this file beside every test: `source twister.tcl`.

namespace eval twister {}

# The variables the original inserted in every test.
foreach {twister::var twister::env} {USER TWISTER_USER EP TWISTER_EP SUITE_NAME TWISTER_SUITE
    FILE_NAME TWISTER_FILE currentTB TWISTER_TESTBED} {
    if {[info exists ::env($twister::env)]} {
        set ::$twister::var $::env($twister::env)
    } else {
        set ::$twister::var ""
    }
}

proc twister::_cli {args} {
    if {[catch {exec twister {*}$args 2>@1} out]} {
        error "twister $args: $out"
    }
    return $out
}

proc logMsg {args} {
    twister::_cli log [lindex $args end]
    return 1
}

proc getGlobal {path} {
    if {[catch {twister::_cli global get $path} out]} { return "" }
    return $out
}

proc setGlobal {path value} {
    twister::_cli global set $path $value
    return 1
}

proc getResource {query} {
    return [twister::_cli resource get $query]
}

proc setResource {name parent props} {
    set args [list resource set "[string trimright $parent /]/$name"]
    foreach {k v} $props { lappend args "$k=$v" }
    twister::_cli {*}$args
    return 1
}

proc deleteResource {res} {
    twister::_cli resource rm $res
    return 1
}

proc getResourceStatus {res} {
    set out [twister::_cli --json resource get $res]
    if {[string match {*"status": "locked"*} $out]} { return 2 }
    if {[string match {*"status": "reserved"*} $out]} { return 3 }
    return 1
}

proc reserveResource {res} {
    twister::_cli reserve $res
    return 1
}

proc setResult {status {reason ""}} {
    set f [open $::env(TWISTER_RESULT_FILE) w]
    puts $f [string trim "$status $reason"]
    close $f
    return 1
}
