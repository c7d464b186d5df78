# cmake -DBIN2C=... -DNAME=... -DINPUT=... -DOUTPUT=... -P EmbedBinary.cmake
# Writes INPUT as a C array NAME (bin2c) into OUTPUT: a redirect that works with every generator.
execute_process(COMMAND ${BIN2C} --name ${NAME} --type char --const ${INPUT}
                OUTPUT_FILE ${OUTPUT} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "bin2c failed on ${INPUT}: ${result}")
endif()
