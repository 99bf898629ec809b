-- expect 2: config ran for more than
::top:: goto top
