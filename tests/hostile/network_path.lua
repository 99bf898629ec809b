-- expect 2: name
network { name = "../../etc/passwd" }
