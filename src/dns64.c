/* dns64.c: to be written */
