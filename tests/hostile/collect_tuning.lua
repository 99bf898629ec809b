-- expect 2: option 'setpause' is not available
collectgarbage("setpause", 0)
