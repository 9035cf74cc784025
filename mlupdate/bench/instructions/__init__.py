"""Instruction counts: each counted cell's timed call under callgrind, for both sides of a comparison.

``hooks`` builds the compiled helper that switches counting on and off; ``counter`` is the server
run under valgrind in a side's environment; ``server`` drives it; ``cells`` decides which cells are
counted; ``compare`` judges two commits by their counts with the one verdict rule.
"""
