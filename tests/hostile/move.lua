-- expect 2: table.move would take
table.move({}, 1, 2^50, 1)
