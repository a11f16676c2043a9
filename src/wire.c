/* wire.c: to be written */
